using EdgeRelay.LoadTest.Reporting;

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
            foreach (var index in Order(cases.Count, round))
            {
                var @case = cases[index];
                log($"== round {round + 1} of {rounds}: {@case.Label} ({@case.Args})");
                runs.Add(await RunOneAsync(@case, round, display, log, stop));
            }
        }

        return runs;
    }

    /// <summary>The cases' order within a round, as <see cref="RunAsync"/> runs them.</summary>
    public static IEnumerable<int> Order(int caseCount, int round) => Enumerable.Range(0, caseCount).Select(i => (round + i) % caseCount);

    internal static async Task<SeriesRun> RunOneAsync(SeriesCase @case, int round, Func<IProgressDisplay> display, Action<string> log, CancellationToken stop)
    {
        if (stop.IsCancellationRequested)
        {
            return new SeriesRun(@case, round, null, "not run: cancelled", Failed: false);
        }

        var (result, note, failed) = await CompareRunner.RunGuardedAsync(@case.Settings, @case.Label, display, log, stop);
        return new SeriesRun(@case, round, result, note, failed);
    }
}
