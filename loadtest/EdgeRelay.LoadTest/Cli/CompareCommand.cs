using System.CommandLine;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Targets;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>compare</c>: every target back to back, each started fresh on loopback (never an --endpoint), with the same
/// payloads, concurrency and duration, then one table.
/// </summary>
internal static class CompareCommand
{
    public static Command Build(SharedOptions o)
    {
        var targets = new Option<string[]>("--targets")
        {
            Description = $"Rows to run, in this order whatever the order given: {string.Join(", ", CompareRow.All.Select(r => r.Id))} ('redis' = both Redis rows). Default: all.",
            HelpName = "ID,...",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var json = new Option<string?>("--json")
        {
            Description = "Also write the results as a JSON array of run objects (the same fields as run --json; rows that did not run have none). Default: none.",
            HelpName = "FILE",
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the comparison as one markdown table, a row per target. Default: none.",
            HelpName = "FILE",
        };

        var compare = new Command("compare", "Run raw-sink, raw-fasterlog, edgerelay, redis (AOF everysec), redis (AOF always) and nats one after the other with the same payloads, concurrency and duration, each started fresh on loopback, and print one table. A peer that is not installed is skipped with how to install it.")
        {
            o.Scenario, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Rate, o.Addresses, o.Prefill, o.Batch, o.RelayHost, targets, json, markdown,
        };
        compare.SetAction((result, cancellationToken) =>
        {
            var ids = result.GetValue(targets) is { Length: > 0 } given ? given : [.. CompareRow.All.Select(r => r.Id)];
            return RunAsync(o.Bind(result), ids, result.GetValue(json), result.GetValue(markdown), cancellationToken);
        });
        return compare;
    }

    private static async Task<int> RunAsync(RunSettings settings, string[] ids, string? jsonPath, string? markdownPath, CancellationToken stop)
    {
        if (!CompareRow.TrySelect(ids, out var rows, out var unknown))
        {
            await Console.Error.WriteLineAsync($"--targets: '{unknown}' is not one of {string.Join(", ", CompareRow.All.Select(r => r.Id))}, redis.");
            return LoadTestCommandLine.UsageExitCode;
        }

        // Problems common to every row are usage errors; a target that lacks the scenario is only a skipped row.
        // NATS has every capability, so validating as NATS finds exactly the common problems.
        if (await LoadTestCommandLine.RefuseInvalidAsync(settings.Validate(TargetCatalog.Nats)))
        {
            return LoadTestCommandLine.UsageExitCode;
        }

        var outcomes = await CompareRunner.RunAsync(settings, rows, ProgressDisplay.ForConsole, Console.Out.WriteLine, stop);
        if (Console.IsOutputRedirected)
        {
            // Redirected output (a log file, CI) has no width to measure; Spectre then assumes 80 and wraps the
            // target names. A log line may be longer than that.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 132);
        }

        AnsiConsole.Write(CompareReport.BuildTable(outcomes, settings));
        Console.Out.WriteLine(CompareReport.DurabilityLegend(outcomes));
        Console.Out.WriteLine(CompareReport.ServerUsageLegend);
        await CompareReport.WriteFilesAsync(outcomes, settings, jsonPath, markdownPath);
        return outcomes.Any(o => o.Failed) ? LoadTestCommandLine.FailedExitCode : 0;
    }
}
