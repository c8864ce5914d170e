using System.CommandLine;
using System.Globalization;
using System.Text;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>scale</c>: the relay as one service on more and more nodes (<c>edgerelay-cluster</c> at each of
/// <c>--node-counts</c>), each run right after one of the single FASTER relay with the same payload,
/// connections, in-flight and duration, per scenario; then one table per scenario with each row's ratio to its
/// baseline run.
/// </summary>
internal static class ScaleCommand
{
    /// <summary>The node counts run when <c>--node-counts</c> is not given.</summary>
    internal static readonly int[] DefaultNodeCounts = [1, 2, 3];

    internal static readonly string[] DefaultScenarios = [ScenarioCatalog.Ingest, ScenarioCatalog.Push];

    public static Command Build()
    {
        var o = new SharedOptions();
        var scenarios = new Option<string[]>("--scenarios")
        {
            Description = $"Scenarios to measure, in this order: ingest (SENDs acknowledged) and/or push (owners subscribed, each message delivered), comma-separated. Default: {string.Join(",", DefaultScenarios)}.",
            HelpName = "SCENARIO,...",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var nodeCounts = new Option<int[]>("--node-counts")
        {
            Description = $"Relay nodes of each cluster case, comma-separated (each 1..{RunSettings.MaxNodes}). Default: {string.Join(",", DefaultNodeCounts)}.",
            HelpName = "N,...",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => ParseCounts(result),
        };
        var repeat = new Option<int>("--repeat")
        {
            Description = $"Times every (baseline, cluster) pair runs (1..{SeriesCommand.MaxRepeat}). Default: 1.",
            DefaultValueFactory = _ => 1,
        };
        var json = new Option<string?>("--json")
        {
            Description = "Also write every run and the summaries as JSON: an array with one object per scenario (its cases, each with its runs, the run objects of run --json, and summary). Default: none.",
            HelpName = "FILE",
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write one markdown table per scenario, each followed by how it was taken. Default: none.",
            HelpName = "FILE",
        };

        var scale = new Command("scale", "Measure the relay scaling out: edgerelay-cluster (relay nodes as one service on a JetStream cluster, all started on loopback) at each of --node-counts, each run right after a run of the single FASTER relay (the baseline) with the same payload, connections, in-flight and duration; per scenario one table of msgs/s, p50/p99 latency, CPU per message and the ratio to the baseline. On one machine every node, server and the generator share its cores: the curve shows the cost of the cluster, not its capacity.")
        {
            scenarios, nodeCounts, o.NatsNodes, o.Partitions, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Addresses, o.RelaySetting, o.MaxErrorRate, repeat, json, markdown,
        };
        scale.SetAction((result, cancellationToken) =>
        {
            // Only what scale takes; everything else at run's defaults (Bind would read absent options as 0).
            var settings = new RunSettings
            {
                Connections = result.GetValue(o.Connections),
                PayloadBytes = result.GetValue(o.Payload),
                Duration = result.GetValue(o.Duration) ?? o.Defaults.Duration,
                Warmup = result.GetValue(o.Warmup) ?? o.Defaults.Warmup,
                InFlight = result.GetValue(o.InFlight),
                Addresses = result.GetValue(o.Addresses),
                RelaySettings = result.GetValue(o.RelaySetting) ?? [],
                MaxErrorRate = result.GetValue(o.MaxErrorRate),
                NatsNodes = result.GetValue(o.NatsNodes),
                Partitions = result.GetValue(o.Partitions),
            };
            var wanted = result.GetValue(scenarios) is { Length: > 0 } s ? s : DefaultScenarios;
            var counts = result.GetValue(nodeCounts) is { Length: > 0 } n ? n : DefaultNodeCounts;
            return RunAsync(settings, wanted, counts, result.GetValue(repeat), result.GetValue(json), result.GetValue(markdown), cancellationToken);
        });
        return scale;
    }

    /// <summary>The plan of every scenario, and what is wrong with the options.</summary>
    internal static List<ScalePlan> Plan(RunSettings settings, IReadOnlyList<string> scenarios, IReadOnlyList<int> nodeCounts, int repeat, out List<string> problems)
    {
        problems = [];
        foreach (var scenario in scenarios.Where(s => s is not (ScenarioCatalog.Ingest or ScenarioCatalog.Push)))
        {
            problems.Add($"--scenarios: '{scenario}' is not ingest or push.");
        }

        if (nodeCounts.Count == 0 || nodeCounts.Any(n => n is < 1 or > RunSettings.MaxNodes) || nodeCounts.Distinct().Count() != nodeCounts.Count)
        {
            problems.Add($"--node-counts: '{string.Join(",", nodeCounts)}' is not distinct numbers of nodes from 1 to {RunSettings.MaxNodes}.");
        }

        if (repeat is < 1 or > SeriesCommand.MaxRepeat)
        {
            problems.Add($"--repeat: {repeat} is not from 1 to {SeriesCommand.MaxRepeat}.");
        }

        var plans = new List<ScalePlan>();
        foreach (var scenario in scenarios.Distinct().Where(s => s is ScenarioCatalog.Ingest or ScenarioCatalog.Push))
        {
            var plan = ScalePlan.For(settings with { Scenario = scenario }, nodeCounts.Count > 0 ? nodeCounts : [1]);
            foreach (var @case in plan.Cases)
            {
                problems.AddRange(@case.Settings.Validate().Select(p => $"{scenario}, {@case.Label}: {p}"));
            }

            plans.Add(plan);
        }

        problems = [.. problems.Distinct(StringComparer.Ordinal)];
        return plans;
    }

    private static int[] ParseCounts(System.CommandLine.Parsing.ArgumentResult result)
    {
        var counts = new List<int>();
        foreach (var text in result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                result.AddError($"--node-counts: '{text}' is not a number of nodes.");
                return [];
            }

            counts.Add(count);
        }

        return [.. counts];
    }

    private static async Task<int> RunAsync(RunSettings settings, string[] scenarios, int[] nodeCounts, int repeat, string? jsonPath, string? markdownPath, CancellationToken stop)
    {
        var plans = Plan(settings, scenarios, nodeCounts, repeat, out var problems);
        if (await LoadTestCommandLine.RefuseInvalidAsync(problems))
        {
            return LoadTestCommandLine.UsageExitCode;
        }

        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 180);
        }

        // Each run's row is printed, and the files rewritten, as soon as it is measured: a 20-minute command shows
        // its progress, and one that is interrupted (even killed) leaves what it had measured.
        var results = new List<(ScalePlan Plan, List<SeriesRun> Runs)>();
        foreach (var plan in plans)
        {
            var runs = new List<SeriesRun>();
            results.Add((plan, runs));
            await ScaleRunner.RunAsync(
                plan,
                repeat,
                ProgressDisplay.ForConsole,
                Console.Out.WriteLine,
                step =>
                {
                    runs.Add(step.Run);
                    foreach (var line in ScaleProgress.Lines(step, Title(plan, settings)))
                    {
                        Console.Out.WriteLine(line);
                    }

                    try
                    {
                        WriteFiles(results, settings, repeat, jsonPath, markdownPath);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        // The measurement goes on; the final write below says it again if the path stays unwritable.
                        Console.Error.WriteLine($"could not write the results so far: {ex.Message}");
                    }
                },
                stop);
            if (stop.IsCancellationRequested)
            {
                break;
            }
        }

        var cancelled = stop.IsCancellationRequested;
        if (cancelled)
        {
            await Console.Error.WriteLineAsync($"cancelled: the tables below hold the {results.Sum(r => r.Runs.Count(run => run.Result is not null))} run(s) measured so far; every process the runs started has been stopped.");
        }

        foreach (var (plan, runs) in results)
        {
            var summary = SeriesReport.Summarise(runs, plan.Cases, plan.Baseline);
            AnsiConsole.Write(SeriesReport.BuildTable(summary, Title(plan, settings) + ": median (min–max)"));
            Console.Out.WriteLine(SeriesReport.Legend(summary, ScaleRunner.HowTaken(plan, repeat)));
        }

        WriteFiles(results, settings, repeat, jsonPath, markdownPath);
        var all = results.SelectMany(r => r.Runs).ToList();
        if (cancelled)
        {
            return LoadTestCommandLine.CancelledExitCode;
        }

        if (all.Any(r => r.Failed))
        {
            return LoadTestCommandLine.FailedExitCode;
        }

        return all.Any(r => r.Result is { ErrorRateExceeded: true }) ? LoadTestCommandLine.ErrorRateExitCode : 0;
    }

    private static string Title(ScalePlan plan, RunSettings settings) =>
        string.Create(CultureInfo.InvariantCulture, $"{plan.Scenario}, {settings.PayloadBytes} B, {settings.Connections} x {settings.InFlight}, {DurationText.Format(settings.Duration)} each");

    /// <summary>
    /// The JSON and markdown of every scenario so far. Not cancellable: after Ctrl+C they are what is left of the
    /// command, and a few kilobytes take no time.
    /// </summary>
    private static void WriteFiles(List<(ScalePlan Plan, List<SeriesRun> Runs)> results, RunSettings settings, int repeat, string? jsonPath, string? markdownPath)
    {
        if (jsonPath is null && markdownPath is null)
        {
            return;
        }

        var markdown = new StringBuilder();
        var json = new List<string>();
        foreach (var (plan, runs) in results)
        {
            var summary = SeriesReport.Summarise(runs, plan.Cases, plan.Baseline);
            var legend = SeriesReport.Legend(summary, ScaleRunner.HowTaken(plan, repeat));
            markdown.AppendLine("### " + Title(plan, settings) + ": median (min–max)").AppendLine().Append(SeriesReport.ToMarkdown(summary, legend)).AppendLine();
            json.Add($"{{\"scenario\": {System.Text.Json.JsonSerializer.Serialize(plan.Scenario)}, \"series\": {SeriesReport.ToJson(summary, runs, repeat)}}}");
        }

        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, "[" + string.Join("," + Environment.NewLine, json) + "]" + Environment.NewLine);
        }

        if (markdownPath is not null)
        {
            File.WriteAllText(markdownPath, markdown.ToString());
        }
    }
}
