using System.CommandLine;
using System.CommandLine.Parsing;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>series</c>: several cases (each a <c>run</c> command line, every target started fresh) run in interleaved
/// rounds, then one table of medians with min and max, and each case's ratio to a baseline case taken round by
/// round. On a shared machine a lone run says little: interleaving spreads the machine's drift over every case,
/// and a ratio of two runs minutes apart is steadier than either figure.
/// </summary>
internal static class SeriesCommand
{
    public const int DefaultRepeat = 5;

    public const int MaxRepeat = 100;

    public const int MaxCases = 32;

    public static Command Build()
    {
        var cases = new Option<string[]>("--case")
        {
            Description = "A case, LABEL=ARGS: ARGS are run's options for one target started fresh (--target, --scenario, --addresses, --payload, --relay-setting, ...; not --endpoint). Repeatable, in the order they run within a round. Required, at least one.",
            HelpName = "LABEL=ARGS",
            Required = true,
        };
        var common = new Option<string?>("--common")
        {
            Description = "run options every case shares (e.g. \"--duration 10s --warmup 3s --payload 1024\"), read before the case's own; an option may be given here or in a case, not in both. Default: none.",
            HelpName = "ARGS",
        };
        var repeat = new Option<int>("--repeat")
        {
            Description = $"Rounds: every case runs once per round; round r starts at case r (mod the number of cases) so that no case always runs first (1..{MaxRepeat}). Default: {DefaultRepeat}.",
            DefaultValueFactory = _ => DefaultRepeat,
        };
        var baseline = new Option<string?>("--baseline")
        {
            Description = "The case every ratio is taken against, by LABEL; each ratio is the case's msgs/s over the baseline's in the same round. Default: the first case.",
            HelpName = "LABEL",
        };
        var json = new Option<string?>("--json")
        {
            Description = "Also write every run and the summary as JSON: an array of cases, each with its label, args, runs (the run objects of run --json) and summary. Default: none.",
            HelpName = "FILE",
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the summary as a markdown table, followed by how it was taken. Default: none.",
            HelpName = "FILE",
        };

        var series = new Command("series", "Run several cases (each a run command line) in interleaved rounds and print, per case, the median, min and max of msgs/s, server and client CPU per message, server allocation per message and p99, and its ratio to the baseline case round by round.")
        {
            cases, common, repeat, baseline, json, markdown,
        };
        series.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(cases) ?? [], result.GetValue(common), result.GetValue(repeat), result.GetValue(baseline), result.GetValue(json), result.GetValue(markdown), cancellationToken));
        return series;
    }

    /// <summary>Reads every case into its settings; the problems name the case and option.</summary>
    internal static List<SeriesCase> ParseCases(IReadOnlyList<string> caseTexts, string? common, out List<string> problems)
    {
        problems = [];
        var parsed = new List<SeriesCase>();
        var commonArgs = common is null ? [] : CommandLineParser.SplitCommandLine(common).ToArray();
        foreach (var text in caseTexts)
        {
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            var label = equals > 0 ? text[..equals].Trim() : "";
            if (label.Length == 0)
            {
                problems.Add($"--case: '{text}' is not LABEL=ARGS, e.g. \"push=--scenario push\".");
                continue;
            }

            if (parsed.Any(c => c.Label == label))
            {
                problems.Add($"--case: the label '{label}' is given twice.");
                continue;
            }

            var args = CommandLineParser.SplitCommandLine(text[(equals + 1)..]).ToArray();
            var o = new SharedOptions();
            var target = LoadTestCommandLine.TargetOption(o.Defaults);
            var redisFsync = LoadTestCommandLine.RedisFsyncOption(o.Defaults);
            var command = new Command(label)
            {
                target, o.Scenario, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Rate, o.Addresses, o.FreshRatio, o.FreshPool, o.Seed, o.Prefill, o.Batch,
                o.RelayHost, o.RelaySetting, o.MaxErrorRate, o.PushWindow, o.Nodes, o.NatsNodes, o.Partitions, redisFsync,
            };
            var result = command.Parse([.. commonArgs, .. args]);
            if (result.Errors.Count > 0)
            {
                problems.AddRange(result.Errors.Select(e => $"--case {label}: {e.Message}"));
                continue;
            }

            var settings = o.Bind(result) with
            {
                Target = result.GetValue(target) ?? o.Defaults.Target,
                RedisFsync = result.GetValue(redisFsync) ?? o.Defaults.RedisFsync,
            };
            problems.AddRange(settings.Validate().Select(p => $"--case {label}: {p}"));
            parsed.Add(new SeriesCase(label, string.Join(' ', [.. commonArgs, .. args]), settings));
        }

        if (caseTexts.Count > MaxCases)
        {
            problems.Add($"--case: at most {MaxCases} cases, not {caseTexts.Count}.");
        }

        return parsed;
    }

    private static async Task<int> RunAsync(string[] caseTexts, string? common, int repeat, string? baselineLabel, string? jsonPath, string? markdownPath, CancellationToken stop)
    {
        var cases = ParseCases(caseTexts, common, out var problems);
        if (repeat is < 1 or > MaxRepeat)
        {
            problems.Add($"--repeat: {repeat} is not from 1 to {MaxRepeat}.");
        }

        var baseline = baselineLabel is null ? cases.FirstOrDefault() : cases.FirstOrDefault(c => c.Label == baselineLabel);
        if (baseline is null && problems.Count == 0)
        {
            problems.Add($"--baseline: '{baselineLabel}' is not the label of a case ({string.Join(", ", cases.Select(c => c.Label))}).");
        }

        if (await LoadTestCommandLine.RefuseInvalidAsync(problems))
        {
            return LoadTestCommandLine.UsageExitCode;
        }

        var runs = await SeriesRunner.RunAsync(cases, repeat, ProgressDisplay.ForConsole, Console.Out.WriteLine, stop);
        var summary = SeriesReport.Summarise(runs, cases, baseline!);
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 180);
        }

        AnsiConsole.Write(SeriesReport.BuildTable(summary, repeat));
        Console.Out.WriteLine(SeriesReport.Legend(summary, repeat));
        await SeriesReport.WriteFilesAsync(summary, runs, repeat, jsonPath, markdownPath);
        if (runs.Any(r => r.Failed))
        {
            return LoadTestCommandLine.FailedExitCode;
        }

        return runs.Any(r => r.Result is { ErrorRateExceeded: true }) ? LoadTestCommandLine.ErrorRateExitCode : 0;
    }
}
