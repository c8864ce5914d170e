using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>One case of <c>series</c>: a label, the run options it was given, and the settings they make.</summary>
internal sealed record SeriesCase(string Label, string Args, RunSettings Settings);

/// <summary>One run of a case in one round: its result, or why there is none.</summary>
internal sealed record SeriesRun(SeriesCase Case, int Round, RunResult? Result, string? Note, bool Failed);

/// <summary>
/// Runs every case once per round, one after the other, each target started fresh and stopped before the next
/// (as <see cref="CompareRunner"/> does). Round r begins at case r modulo the number of cases: a case that
/// always ran first (on a cooler machine, a colder page cache) would carry that into every figure.
/// </summary>
internal static class SeriesRunner
{
    public static async Task<List<SeriesRun>> RunAsync(IReadOnlyList<SeriesCase> cases, int rounds, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        var runs = new List<SeriesRun>();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < cases.Count; i++)
            {
                var @case = cases[(round + i) % cases.Count];
                log($"== round {round + 1} of {rounds}: {@case.Label} ({@case.Args})");
                runs.Add(await RunOneAsync(@case, round, display, log, stop));
            }
        }

        return runs;
    }

    /// <summary>The cases' order within a round, as <see cref="RunAsync"/> runs them.</summary>
    public static IEnumerable<int> Order(int caseCount, int round) => Enumerable.Range(0, caseCount).Select(i => (round + i) % caseCount);

    private static async Task<SeriesRun> RunOneAsync(SeriesCase @case, int round, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        if (stop.IsCancellationRequested)
        {
            return new SeriesRun(@case, round, null, "not run: cancelled", Failed: false);
        }

        SeriesRun run;
        try
        {
            var result = await LoadRunner.RunAsync(@case.Settings, display(), log, stop);
            if (ResultWriters.ErrorRateMessage(result) is { } exceeded)
            {
                log(exceeded);
            }

            run = new SeriesRun(@case, round, result, null, Failed: false);
        }
        catch (PeerMissingException ex)
        {
            log(ex.Message);
            run = new SeriesRun(@case, round, null, $"skipped: install with apt-get install {ex.Package}", Failed: false);
        }
        catch (LoadTestException ex)
        {
            log($"{@case.Label}: {ex.Message}");
            run = new SeriesRun(@case, round, null, "failed: " + ex.Message.ReplaceLineEndings(" "), Failed: true);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            run = new SeriesRun(@case, round, null, "not run: cancelled", Failed: false);
        }

        // The next case starts on a quiet heap: this run's garbage is not its cost.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return run;
    }
}
