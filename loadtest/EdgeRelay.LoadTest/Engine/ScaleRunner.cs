using System.Globalization;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// One scenario of <c>scale</c>: the single FASTER relay (the baseline), <c>edgerelay-cluster</c> at each
/// node count, and the JetStream cluster alone (<c>nats-cluster</c>, the same servers and replicas: what the
/// relay's cluster builds on), with the same settings otherwise.
/// </summary>
internal sealed record ScalePlan(string Scenario, SeriesCase Baseline, IReadOnlyList<SeriesCase> Clusters, SeriesCase Engine)
{
    public const string BaselineLabel = "edgerelay (FASTER, 1 process)";

    public IReadOnlyList<SeriesCase> Cases => [Baseline, .. Clusters, Engine];

    /// <summary>The cases for <paramref name="settings"/> (whose scenario it is) at each of <paramref name="nodeCounts"/>.</summary>
    public static ScalePlan For(RunSettings settings, IReadOnlyList<int> nodeCounts)
    {
        var c = CultureInfo.InvariantCulture;
        var common = string.Create(c, $"--scenario {settings.Scenario} --payload {settings.PayloadBytes} -c {settings.Connections} --in-flight {settings.InFlight} --addresses {settings.Addresses} --duration {DurationText.Format(settings.Duration)} --warmup {DurationText.Format(settings.Warmup)}");
        var baseline = new SeriesCase(BaselineLabel, $"--target {TargetCatalog.EdgeRelay} {common}", settings with { Target = TargetCatalog.EdgeRelay, Nodes = 1, NatsNodes = 3, Partitions = 1 });
        var clusters = nodeCounts.Select(n => new SeriesCase(
            string.Create(c, $"edgerelay-cluster, {n} node{(n == 1 ? "" : "s")}"),
            string.Create(c, $"--target {TargetCatalog.EdgeRelayCluster} --nodes {n} --nats-nodes {settings.NatsNodes} --partitions {settings.Partitions} {common}"),
            settings with { Target = TargetCatalog.EdgeRelayCluster, Nodes = n }));
        var engine = new SeriesCase(
            string.Create(c, $"nats JetStream alone, {settings.NatsNodes} server{(settings.NatsNodes == 1 ? "" : "s")}, R{settings.NatsNodes}"),
            string.Create(c, $"--target {TargetCatalog.NatsCluster} --nats-nodes {settings.NatsNodes} {common}"),
            settings with { Target = TargetCatalog.NatsCluster, Nodes = 1, Partitions = 1 });
        return new ScalePlan(settings.Scenario, baseline, [.. clusters], engine);
    }
}

/// <summary>
/// Runs a <see cref="ScalePlan"/>: each cluster case right after a baseline run of its own and right before a run
/// of the JetStream cluster alone, so that on a shared machine every ratio is taken against the relay measured a
/// minute before, not at the start of the command (baseline, 1 node, JetStream, baseline, 2 nodes, JetStream, ...;
/// all of it <paramref name="repeat"/> times). Each such pair is a
/// "round" of <see cref="SeriesReport.Summarise"/>, which then takes every cluster run's ratio against its own
/// baseline run. Every target is started fresh and stopped before the next, as in <c>compare</c>.
/// </summary>
internal static class ScaleRunner
{
    /// <summary>One case run once; <see cref="SeriesRunner.RunOneAsync"/> outside tests.</summary>
    public delegate Task<SeriesRun> CaseRunner(SeriesCase @case, int pair, CancellationToken stop);

    public static Task<List<SeriesRun>> RunAsync(ScalePlan plan, int repeat, Func<IProgressDisplay> display, Action<string> log, Action<ScaleStep> measured, CancellationToken stop) =>
        RunAsync(plan, repeat, (@case, pair, token) => SeriesRunner.RunOneAsync(@case, pair, display, log, token), log, measured, stop);

    /// <param name="measured">
    /// Called after every run, with the runs of its pair so far, so that a long command shows each row as soon
    /// as it (and the baseline it is read against) is measured, and an interrupted one has shown what it had.
    /// </param>
    /// <param name="stop">
    /// Ctrl+C: the run under way ends as <see cref="LoadRunner"/> ends it (its window shortened, its target
    /// stopped), no further run starts, and the runs so far are returned.
    /// </param>
    public static async Task<List<SeriesRun>> RunAsync(ScalePlan plan, int repeat, CaseRunner runOne, Action<string> log, Action<ScaleStep> measured, CancellationToken stop)
    {
        var runs = new List<SeriesRun>();
        var pairs = repeat * plan.Clusters.Count;
        var pair = 0;
        for (var r = 0; r < repeat; r++)
        {
            foreach (var cluster in plan.Clusters)
            {
                var pairRuns = new List<SeriesRun>(3);
                foreach (var @case in (SeriesCase[])[plan.Baseline, cluster, plan.Engine])
                {
                    if (stop.IsCancellationRequested)
                    {
                        return runs;
                    }

                    log(string.Create(CultureInfo.InvariantCulture, $"== {plan.Scenario}, pair {pair + 1} of {pairs}: {@case.Label}"));
                    var run = CutShort(await runOne(@case, pair, stop), stop);
                    pairRuns.Add(run);
                    runs.Add(run);
                    measured(new ScaleStep(plan, pair, pairs, [.. pairRuns]));
                }

                pair++;
            }
        }

        return runs;
    }

    /// <summary>
    /// A run that Ctrl+C ended before its window was through keeps its figures (a rate over a shorter window), with
    /// a note saying how much of the window it measured.
    /// </summary>
    internal static SeriesRun CutShort(SeriesRun run, CancellationToken stop)
    {
        if (!stop.IsCancellationRequested || run.Result is not { } result || run.Note is not null
            || result.DurationSeconds >= run.Case.Settings.Duration.TotalSeconds - 0.001)
        {
            return run;
        }

        return run with { Note = string.Create(CultureInfo.InvariantCulture, $"cancelled: measured {result.DurationSeconds:0.###} s of {DurationText.Format(run.Case.Settings.Duration)}") };
    }

    /// <summary>The first lines of the legend: how the runs were ordered and what the ratios are.</summary>
    public static IEnumerable<string> HowTaken(ScalePlan plan, int repeat)
    {
        yield return string.Create(
            CultureInfo.InvariantCulture,
            $"{plan.Scenario}: a baseline run right before each cluster run and a run of JetStream alone right after it ({repeat} time(s) over {plan.Clusters.Count} node count(s)); each figure is the median over the runs with a figure, then (min–max).");
        yield return $"vs baseline: the run's msgs/s over the {ScalePlan.BaselineLabel} run just before it, then the median of those ratios.";
        yield return "server CPU: for the cluster every relay node's and every nats-server's CPU per message; server alloc: the relay nodes' managed allocations.";
    }
}

/// <summary>One run of a <see cref="ScalePlan"/> just measured: the runs of its pair so far (baseline first), the last being the new one.</summary>
internal sealed record ScaleStep(ScalePlan Plan, int Pair, int Pairs, IReadOnlyList<SeriesRun> PairRuns)
{
    public SeriesRun Run => PairRuns[^1];
}
