using System.Runtime.CompilerServices;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// Senders only: every operation is one send of <c>--payload</c> random bytes, complete when acknowledged (for
/// the relay: durable). Nobody receives, so this is the ingest path alone. Connection <c>i</c> spreads its
/// sends round-robin over the queues starting at queue <c>i</c>, so all queues are in use at once. A share of
/// <c>--fresh-ratio</c> of the sends, drawn per send (<see cref="FreshMix"/>), go to a newly derived address.
/// </summary>
internal sealed class IngestScenario(RunSettings settings) : IScenario
{
    private readonly PayloadSource _payloads = new(settings.PayloadBytes);

    public string Name => ScenarioCatalog.Ingest;

    public int PayloadBytesPerMessage => _payloads.Length;

    public int InFlightPerConnection => settings.InFlight;

    public Task PrepareAsync(ILoadTarget target, Action<string> log, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IScenarioConnection> ConnectAsync(ILoadTarget target, int index, CancellationToken cancellationToken) =>
        new Sender(await target.ConnectAsync(index, cancellationToken), _payloads, index, settings.Queues, new FreshMix(settings.Seed, index, settings.FreshRatio));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Sender(ILoadConnection connection, PayloadSource payloads, int index, int queues, FreshMix mix) : IScenarioConnection
    {
        // The pooling builder recycles the state machine: the wrapper adds no allocation to the target's own.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<int> ExecuteAsync(long sequence, CancellationToken cancellationToken)
        {
            int queue = (int)((sequence + index) % queues);
            var payload = payloads.Get(sequence);
            await (mix.IsFresh(sequence)
                ? connection.SendFreshAsync(queue, payload, cancellationToken)
                : connection.SendAsync(queue, payload, cancellationToken));
            return 1;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
