using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>One row of <c>compare</c>: a target, and for Redis the fsync policy that decides what its ack means.</summary>
internal sealed record CompareRow(string Id, string Label, string Target, string? RedisFsync = null)
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
    ];

    /// <summary>Rows by id; <c>redis</c> names both Redis rows.</summary>
    public static bool TrySelect(IEnumerable<string> ids, out List<CompareRow> rows, out string? unknown)
    {
        var wanted = ids.Select(i => i.Trim()).Where(i => i.Length > 0).ToHashSet(StringComparer.Ordinal);
        rows = [.. All.Where(r => wanted.Contains(r.Id) || (wanted.Contains(TargetCatalog.Redis) && r.Target == TargetCatalog.Redis))];
        unknown = wanted.FirstOrDefault(w => w != TargetCatalog.Redis && All.All(r => r.Id != w));
        return unknown is null && rows.Count > 0;
    }
}

/// <summary>What became of one row: a result, or why there is none.</summary>
internal sealed record CompareOutcome(CompareRow Row, RunResult? Result, string? Note, bool Failed)
{
    public string Label => Result?.Label ?? Row.Label;
}

/// <summary>
/// Runs the rows one after the other with the same settings (payloads, concurrency, duration), each target
/// started fresh and stopped before the next, so they never share the machine. A row that cannot run (peer not
/// installed, scenario not supported) is skipped with the reason; a row that fails is reported; the rest go on.
/// </summary>
internal static class CompareRunner
{
    public static async Task<List<CompareOutcome>> RunAsync(
        RunSettings settings, IReadOnlyList<CompareRow> rows, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        var outcomes = new List<CompareOutcome>(rows.Count);
        foreach (var row in rows)
        {
            if (stop.IsCancellationRequested)
            {
                outcomes.Add(new CompareOutcome(row, null, "not run: cancelled", Failed: false));
                continue;
            }

            if (ScenarioCatalog.UnsupportedReason(settings.Scenario, row.Target) is not null)
            {
                outcomes.Add(new CompareOutcome(row, null, $"skipped: {settings.Scenario} not supported by this target yet", Failed: false));
                continue;
            }

            log($"== {row.Label}");
            var rowSettings = settings with { Target = row.Target, RedisFsync = row.RedisFsync ?? settings.RedisFsync };
            try
            {
                outcomes.Add(new CompareOutcome(row, await LoadRunner.RunAsync(rowSettings, display(), log, stop), null, Failed: false));
            }
            catch (PeerMissingException ex)
            {
                log(ex.Message);
                outcomes.Add(new CompareOutcome(row, null, $"skipped: install with apt-get install {ex.Package}", Failed: false));
            }
            catch (LoadTestException ex)
            {
                log($"{row.Label}: {ex.Message}");
                outcomes.Add(new CompareOutcome(row, null, "failed: " + ex.Message.ReplaceLineEndings(" "), Failed: true));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                outcomes.Add(new CompareOutcome(row, null, "not run: cancelled", Failed: false));
            }

            // The next target starts on a quiet heap: the previous run's garbage is not its cost.
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return outcomes;
    }
}
