using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>One row of <c>compare</c>: a target, and for Redis the fsync policy that decides what its ack means.</summary>
internal sealed record CompareRow(string Id, string Label, string Target, string? RedisFsync = null, bool OptIn = false)
{
    /// <summary>
    /// Every row, in the order they run: the ceiling first, then the relay, then the peers. Durability pairs:
    /// edgerelay with redis (AOF always) (both fsync before the ack); nats with redis (AOF everysec) (neither does).
    /// </summary>
    public static IReadOnlyList<CompareRow> All { get; } =
    [
        new("raw-sink", "raw-sink", TargetCatalog.RawSink),
        new("raw-fasterlog", "raw-fasterlog", TargetCatalog.RawFasterLog),
        new("edgerelay", "edgerelay", TargetCatalog.EdgeRelay),
        new("redis-everysec", "redis (AOF everysec)", TargetCatalog.Redis, RedisTarget.FsyncEverysec),
        new("redis-always", "redis (AOF always)", TargetCatalog.Redis, RedisTarget.FsyncAlways),
        new("nats", "nats (JetStream file)", TargetCatalog.Nats),
        new("edgerelay-forward", "edgerelay-forward", TargetCatalog.EdgeRelayForward, OptIn: true),
    ];

    /// <summary>The rows run when <c>--targets</c> is not given: all but the opt-in ones (forwarding, two relays at once).</summary>
    public static IEnumerable<CompareRow> Default => All.Where(r => !r.OptIn);

    /// <summary>Rows by id; <c>redis</c> names both Redis rows.</summary>
    public static bool TrySelect(IEnumerable<string> ids, out List<CompareRow> rows, out string? unknown)
    {
        var wanted = ids.Select(i => i.Trim()).Where(i => i.Length > 0).ToHashSet(StringComparer.Ordinal);
        rows = [.. All.Where(r => wanted.Contains(r.Id) || (wanted.Contains(TargetCatalog.Redis) && r.Target == TargetCatalog.Redis))];
        unknown = wanted.FirstOrDefault(w => w != TargetCatalog.Redis && All.All(r => r.Id != w));
        return unknown is null && rows.Count > 0;
    }
}

/// <summary>
/// The traffic of a set of compare rows: how many long-term addresses (keys, subjects) and which share of
/// SENDs go to a newly derived address. Written <c>ADDRESSES:FRESH</c>, e.g. <c>100000:1</c>.
/// </summary>
internal sealed record TrafficMix(int Addresses, double FreshRatio)
{
    public static TrafficMix Of(RunSettings settings) => new(settings.Addresses, settings.FreshRatio);

    public static bool TryParse(string text, out TrafficMix mix)
    {
        mix = new TrafficMix(1, 0);
        var parts = text.Split(':');
        if (parts.Length != 2
            || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int addresses)
            || !double.TryParse(parts[1], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out double fresh))
        {
            return false;
        }

        mix = new TrafficMix(addresses, fresh);
        return true;
    }

    public RunSettings ApplyTo(RunSettings settings) => settings with { Addresses = Addresses, FreshRatio = FreshRatio };

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Addresses}:{FreshRatio:0.###}");
}

/// <summary>What became of one row: a result, or why there is none.</summary>
internal sealed record CompareOutcome(CompareRow Row, RunResult? Result, string? Note, bool Failed)
{
    public string Label => Result?.Label ?? Row.Label;

    /// <summary>The traffic this row was (or would have been) run with.</summary>
    public TrafficMix Mix { get; init; } = new(1, 0);

    /// <summary>Ran, but errors dominated its window: a row without a figure.</summary>
    public bool ErrorDominated => Result is { ErrorDominated: true };

    /// <summary>Ran, but its window failed more operations than <c>--max-error-rate</c> allows: a non-zero exit.</summary>
    public bool ErrorRateExceeded => Result is { ErrorRateExceeded: true };
}

/// <summary>
/// Runs the rows one after the other with the same settings (payloads, concurrency, duration), each target
/// started fresh and stopped before the next, so they never share the machine. A row that cannot run (peer not
/// installed, scenario not supported) is skipped with the reason; a row that fails is reported; the rest go on.
/// </summary>
internal static class CompareRunner
{
    /// <param name="also">Further traffic mixes: every row runs again with each, after all rows of the settings' own.</param>
    public static async Task<List<CompareOutcome>> RunAsync(
        RunSettings settings, IReadOnlyList<CompareRow> rows, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop, IReadOnlyList<TrafficMix>? also = null)
    {
        var outcomes = new List<CompareOutcome>();
        foreach (var mix in (IEnumerable<TrafficMix>)[TrafficMix.Of(settings), .. also ?? []])
        {
            foreach (var row in rows)
            {
                outcomes.Add(await RunRowAsync(mix.ApplyTo(settings), row, display, log, stop) with { Mix = mix });
            }
        }

        return outcomes;
    }

    private static async Task<CompareOutcome> RunRowAsync(RunSettings settings, CompareRow row, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        if (stop.IsCancellationRequested)
        {
            return new CompareOutcome(row, null, "not run: cancelled", Failed: false);
        }

        if (ScenarioCatalog.UnsupportedReason(settings.Scenario, row.Target) is not null)
        {
            return new CompareOutcome(row, null, $"skipped: {settings.Scenario} not supported by this target yet", Failed: false);
        }

        log(FormattableString.Invariant($"== {row.Label}, {settings.Addresses:N0} address(es), {settings.FreshRatio * 100:0.##}% fresh"));
        var rowSettings = settings with { Target = row.Target, RedisFsync = row.RedisFsync ?? settings.RedisFsync };
        var (result, note, failed) = await RunGuardedAsync(rowSettings, row.Label, display, log, stop);
        return new CompareOutcome(row, result, note, failed);
    }

    /// <summary>
    /// One run of a target started fresh, for compare's rows and series' cases: a result, or why there is none
    /// (a peer not installed is skipped, a failure is reported, and the callers go on with the next). The next
    /// run then starts on a quiet heap: this run's garbage is not its cost.
    /// </summary>
    internal static async Task<(RunResult? Result, string? Note, bool Failed)> RunGuardedAsync(
        RunSettings settings, string label, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        (RunResult?, string?, bool) outcome;
        try
        {
            var result = await LoadRunner.RunAsync(settings, display(), log, stop);
            if (Reporting.ResultWriters.ErrorRateMessage(result) is { } exceeded)
            {
                log(exceeded);
            }

            outcome = (result, null, false);
        }
        catch (PeerMissingException ex)
        {
            log(ex.Message);
            outcome = (null, $"skipped: install with apt-get install {ex.Package}", false);
        }
        catch (LoadTestException ex)
        {
            log($"{label}: {ex.Message}");
            outcome = (null, "failed: " + ex.Message.ReplaceLineEndings(" "), true);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            outcome = (null, "not run: cancelled", false);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        return outcome;
    }
}
