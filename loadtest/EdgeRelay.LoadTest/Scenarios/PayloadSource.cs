namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// Payloads as windows into one random buffer at 64 different offsets: messages differ (nothing can short-cut
/// identical bytes, compression included) and nothing is allocated per message.
/// </summary>
internal sealed class PayloadSource
{
    private const int Variants = 64;
    private const int Stride = 64;

    private readonly byte[] _buffer;

    public PayloadSource(int payloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(payloadBytes);
        Length = payloadBytes;
        _buffer = new byte[payloadBytes + (Variants * Stride)];
        Random.Shared.NextBytes(_buffer);
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Get(long sequence) => _buffer.AsMemory((int)(sequence % Variants) * Stride, Length);
}
