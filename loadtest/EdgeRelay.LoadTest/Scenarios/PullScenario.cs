using System.Diagnostics;
using System.Globalization;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// Receivers draining stored messages. Setup (not measured) stores <see cref="RunSettings.Prefill"/> messages,
/// spread evenly over one queue per connection; then each connection drains its own queue one batch at a time
/// (<see cref="RunSettings.Batch"/> per request): the relay's PULL + ACK over an authenticated connection, Redis
/// <c>RPOP key count</c>, a JetStream pull consumer acking each message.
/// </summary>
/// <remarks>
/// <para>
/// Throughput counts messages, not batches. Latency is the batch's, from the request until the target has
/// removed what it returned (the relay's ACK reply, the last JetStream ack confirmed; RPOP removes as it
/// answers), recorded once per message it carried: percentiles are per message, each having waited for its
/// whole batch. The number of batches is reported apart (<c>operations</c>).
/// </para>
/// <para>
/// One batch at a time per connection, whatever <c>--in-flight</c> says: a second PULL issued before the first
/// one's ACK would be handed the same messages. When any queue runs dry the measurement ends at that request,
/// so every measured batch ran with all connections busy; a window shorter than <c>--duration</c> says the
/// prefill was too small (raise <c>--prefill</c>, or lower <c>--warmup</c>, which drains messages too).
/// </para>
/// </remarks>
internal sealed class PullScenario(RunSettings settings) : IScenario
{
    /// <summary>The default prefill keeps within this much payload (the peers hold it in memory: Redis entirely).</summary>
    public const long DefaultPrefillBudgetBytes = 1L << 30;

    /// <summary>And within this many messages, so that filling stays well under a minute on the slowest target.</summary>
    public const long DefaultPrefillMaxMessages = 2_000_000;

    /// <summary>Senders used to fill the queues; more would only contend.</summary>
    private const int PrefillConnections = 16;

    /// <summary>Margin over the estimate, so that a target faster than planned still fills the window.</summary>
    private const double Headroom = 1.25;

    private readonly PayloadSource _payloads = new(settings.PayloadBytes);

    public string Name => ScenarioCatalog.Pull;

    public int PayloadBytesPerMessage => _payloads.Length;

    public int InFlightPerConnection => 1;

    /// <summary>
    /// The target's estimated drain rate times warm-up plus duration (plus a margin), within
    /// <see cref="DefaultPrefillBudgetBytes"/> and <see cref="DefaultPrefillMaxMessages"/>; at least one message per queue.
    /// </summary>
    public static long DefaultPrefill(RunSettings settings, double drainRateEstimate)
    {
        double seconds = (settings.Warmup + settings.Duration).TotalSeconds;
        long wanted = (long)Math.Ceiling(drainRateEstimate * seconds * Headroom);
        long cap = Math.Min(DefaultPrefillMaxMessages, DefaultPrefillBudgetBytes / settings.PayloadBytes);
        return Math.Max(settings.Queues, Math.Min(wanted, cap));
    }

    public async Task PrepareAsync(ILoadTarget target, Action<string> log, CancellationToken cancellationToken)
    {
        var pull = AsPullTarget(target);
        long total = settings.Prefill ?? DefaultPrefill(settings, pull.PullRateEstimate);
        var c = CultureInfo.InvariantCulture;
        log(string.Create(c, $"pull: storing {total:N0} messages of {_payloads.Length} B over {settings.Queues} queue(s) first (not measured)"));
        var stopwatch = Stopwatch.StartNew();
        await PrefillAsync(target, total, cancellationToken);
        double seconds = stopwatch.Elapsed.TotalSeconds;
        log(string.Create(c, $"pull: stored in {seconds:0.0} s ({total / Math.Max(seconds, 1e-3):N0} msgs/s); draining in batches of up to {settings.Batch}"));
    }

    public async Task<IScenarioConnection> ConnectAsync(ILoadTarget target, int index, CancellationToken cancellationToken) =>
        new Puller(await AsPullTarget(target).ConnectPullerAsync(index, cancellationToken), settings.Batch);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static IPullTarget AsPullTarget(ILoadTarget target) =>
        target as IPullTarget ?? throw new LoadTestException(ScenarioCatalog.UnsupportedReason(ScenarioCatalog.Pull, target.Name) ?? "pull is not supported by this target.");

    /// <summary>Message n goes to queue n mod queues: every queue gets the same share, give or take one.</summary>
    private async Task PrefillAsync(ILoadTarget target, long total, CancellationToken cancellationToken)
    {
        int queues = settings.Queues;
        long next = -1;
        int senders = Math.Min(settings.Connections, PrefillConnections);
        var connections = new List<ILoadConnection>(senders);
        try
        {
            for (int i = 0; i < senders; i++)
            {
                connections.Add(await target.ConnectAsync(i, cancellationToken));
            }

            var loops = new List<Task>(senders * settings.InFlight);
            foreach (var connection in connections)
            {
                for (int j = 0; j < settings.InFlight; j++)
                {
                    loops.Add(FillAsync(connection));
                }
            }

            await Task.WhenAll(loops);
        }
        catch (Exception ex) when (ex is not (LoadTestException or OperationCanceledException))
        {
            throw new LoadTestException($"prefill failed after about {Math.Max(0, Interlocked.Read(ref next)):N0} messages: {target.Classify(ex).Code}: {ex.Message}", ex);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        async Task FillAsync(ILoadConnection connection)
        {
            await Task.Yield();
            long n;
            while ((n = Interlocked.Increment(ref next)) < total)
            {
                await connection.SendAsync((int)(n % queues), _payloads.Get(n), cancellationToken);
            }
        }
    }

    private sealed class Puller(IPullConnection connection, int batch) : IScenarioConnection
    {
        public ValueTask<int> ExecuteAsync(long sequence, CancellationToken cancellationToken) => connection.PullBatchAsync(batch, cancellationToken);

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
