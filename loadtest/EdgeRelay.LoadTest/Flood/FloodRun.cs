using System.Diagnostics;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Server;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>One phase of one kind: the bystander's figures and the relay's CPU over the same wall time.</summary>
internal sealed record PhaseResult(BystanderPhase Bystander, TimeSpan RelayCpu)
{
    public LatencySummary Latency => LatencyHistograms.Summarize(Bystander.Latency);

    /// <summary>The relay's CPU as a share of one core over the phase, in percent.</summary>
    public double RelayCpuPercent => Bystander.Elapsed > TimeSpan.Zero ? RelayCpu / Bystander.Elapsed * 100 : 0;
}

/// <summary>One flood kind: before and during, and what the flood did.</summary>
internal sealed record KindResult(string Kind, PhaseResult Before, PhaseResult During, FloodCounts Flood)
{
    public double? P50Ratio => Ratio(During.Latency.P50, Before.Latency.P50);

    public double? P99Ratio => Ratio(During.Latency.P99, Before.Latency.P99);

    public double? ThroughputRatio => Before.Bystander.PerSecond > 0 ? During.Bystander.PerSecond / Before.Bystander.PerSecond : null;

    public bool BystanderErrors => Before.Bystander.Errors.Count > 0 || During.Bystander.Errors.Count > 0;

    private static double? Ratio(long during, long before) => before > 0 ? (double)during / before : null;
}

/// <summary>
/// A flood run: one relay in its own process on loopback with its default abuse limits (Limits:*, the resolution
/// miss budgets), one address for the bystander, then for each kind a phase with the bystander alone and one
/// with the flood running beside it.
/// </summary>
internal static class FloodRun
{
    /// <summary>Not measured: the relay's JIT and the bystander's first connection, before the first phase.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);

    /// <summary>How long a flood may take to wind down once its phase ends (a read in flight is cancelled at once).</summary>
    private static readonly TimeSpan FloodStopTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Between kinds: the relay notices the held connections closing (each frees its per-IP slot when its handler
    /// ends), so the next kind's phase "before" is not the last one's tail.
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    public static async Task<IReadOnlyList<KindResult>> RunAsync(FloodSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        // The relay's defaults, abuse limits included, with only the storage quotas lifted: the bystander stores
        // every SEND and acks none, and the per-address quota would be a refusal about it, not about the flood.
        await using var relay = await RelayProcess.StartAsync(EdgeRelayTarget.QuotaFreeRelayOptions, cancellationToken);
        log($"edgerelay pid {relay.ProcessId} on {relay.EndPoint}, default abuse limits");
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        CreatedAddress created;
        await using (var setup = await RelayClient.ConnectAsync(relay.EndPoint, new RelayClientOptions(), cancellationToken))
        {
            created = await setup.CreateAddressAsync(owner.PublicKey, TimeSpan.FromDays(1), cancellationToken);
        }

        var ephemeral = RelayClient.DeriveEphemeralAddress(created.Card, TimeSpan.FromDays(1));
        await using var bystander = new Bystander(relay.EndPoint, ephemeral, settings.PayloadBytes);
        await bystander.RunAsync(WarmUp, cancellationToken);

        var results = new List<KindResult>();
        foreach (var kind in settings.KindsToRun)
        {
            log($"{kind}: before ({DurationText.Format(settings.Phase)}, bystander alone)");
            var before = await PhaseAsync(bystander, relay, settings.Phase, cancellationToken);
            log($"{kind}: during ({DurationText.Format(settings.Phase)}, flood running)");
            var counts = new FloodCounts();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var flood = Floods.RunAsync(kind, relay.EndPoint, created.Card, settings, counts, stop.Token);
            var during = await PhaseAsync(bystander, relay, settings.Phase, cancellationToken);
            await stop.CancelAsync();
            await StopAsync(flood, kind, counts, log);
            results.Add(new KindResult(kind, before, during, counts));
            await Task.Delay(Settle, cancellationToken);
        }

        return results;
    }

    private static async Task<PhaseResult> PhaseAsync(Bystander bystander, PeerProcess relay, TimeSpan duration, CancellationToken cancellationToken)
    {
        var cpuBefore = relay.ProcessorTime() ?? throw new LoadTestException("the relay exited");
        var phase = await bystander.RunAsync(duration, cancellationToken);
        var cpuAfter = relay.ProcessorTime() ?? throw new LoadTestException("the relay exited during the phase");
        return new PhaseResult(phase, cpuAfter - cpuBefore);
    }

    /// <summary>Waits for the flood to wind down; a flood that failed outright is counted as such, not hidden.</summary>
    private static async Task StopAsync(Task flood, string kind, FloodCounts counts, Action<string> log)
    {
        try
        {
            await flood.WaitAsync(FloodStopTimeout);
        }
        catch (OperationCanceledException)
        {
            // The phase ended: the way every flood stops.
        }
        catch (TimeoutException)
        {
            log($"{kind}: the flood did not stop within {DurationText.Format(FloodStopTimeout)}; going on");
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or RelayException)
        {
            counts.Note("flood failed: " + ex.GetType().Name);
            log($"{kind}: the flood failed: {ex.Message}");
        }
    }
}
