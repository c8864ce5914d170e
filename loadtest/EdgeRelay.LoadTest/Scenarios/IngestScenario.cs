using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// Senders only: every operation is one SEND of <c>--payload</c> random bytes, complete when acknowledged
/// (for the relay: durable). Nobody pulls, so this is the relay's ingest path alone.
/// </summary>
internal sealed class IngestScenario : IScenario
{
    // Payloads are windows into one random buffer at 64 different offsets: messages differ (nothing can
    // short-cut identical bytes) and nothing is allocated per send.
    private const int Variants = 64;
    private const int Stride = 64;

    private readonly byte[] _buffer;
    private readonly int _payloadBytes;

    public IngestScenario(int payloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(payloadBytes);
        _payloadBytes = payloadBytes;
        _buffer = new byte[payloadBytes + (Variants * Stride)];
        Random.Shared.NextBytes(_buffer);
    }

    public string Name => ScenarioCatalog.Ingest;

    public int PayloadBytesPerOperation => _payloadBytes;

    public Task PrepareAsync(ILoadTarget target, CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask ExecuteAsync(ILoadConnection connection, long sequence, CancellationToken cancellationToken) =>
        connection.SendAsync(sequence, _buffer.AsMemory((int)(sequence % Variants) * Stride, _payloadBytes), cancellationToken);
}
