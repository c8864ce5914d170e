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
            Description = $"Rows to run, in this order whatever the order given: {string.Join(", ", CompareRow.All.Select(r => r.Id))} ('redis' = both Redis rows). Default: all but edgerelay-forward.",
            HelpName = "ID,...",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var also = new Option<string[]>("--also")
        {
            Description = $"Run every row again with this traffic, ADDRESSES:FRESH (e.g. 100000:1 = 100,000 addresses, every SEND on a newly derived address), after the rows of --addresses and --fresh-ratio; repeatable; 'none' for no second traffic. Default: {RealisticTraffic} for the ingest scenario (the load a sending service brings), none for the others.",
            HelpName = "ADDRESSES:FRESH",
            AllowMultipleArgumentsPerToken = true,
        };
        var json = new Option<string?>("--json")
        {
            Description = "Also write the results as a JSON array of run objects (the same fields as run --json; rows that did not run have none). Default: none.",
            HelpName = "FILE",
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the comparison as one markdown table, a row per target and traffic (--also), followed by its footnotes. Default: none.",
            HelpName = "FILE",
        };

        var compare = new Command("compare", "Run raw-sink, raw-fasterlog, edgerelay, redis (AOF everysec), redis (AOF always) and nats one after the other with the same payloads, concurrency and duration, each started fresh on loopback, and print one table. A peer that is not installed is skipped with how to install it.")
        {
            o.Scenario, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Rate, o.Addresses, o.FreshRatio, o.FreshPool, o.Seed, o.Prefill, o.Batch, o.RelayHost, o.RelaySetting, o.MaxErrorRate,
            targets, also, json, markdown,
        };
        compare.SetAction((result, cancellationToken) =>
        {
            var ids = result.GetValue(targets) is { Length: > 0 } given ? given : [.. CompareRow.Default.Select(r => r.Id)];
            var settings = o.Bind(result);
            return RunAsync(settings, ids, AlsoOrDefault(result.GetValue(also), settings.Scenario), result.GetValue(json), result.GetValue(markdown), cancellationToken);
        });
        return compare;
    }

    /// <summary>The traffic every ingest comparison also runs unless told otherwise: the realistic case beside the kindest.</summary>
    internal const string RealisticTraffic = "100000:1";

    /// <summary>
    /// What --also asks for: as given; nothing for "none"; by default the realistic traffic for ingest, so that
    /// an ingest table never shows only the kindest case (one cached address), and nothing for the other
    /// scenarios, whose queues are per connection.
    /// </summary>
    internal static string[] AlsoOrDefault(string[]? given, string scenario) => given switch
    {
        ["none"] => [],
        { Length: > 0 } => given,
        _ => scenario == Scenarios.ScenarioCatalog.Ingest ? [RealisticTraffic] : [],
    };

    private static async Task<int> RunAsync(RunSettings settings, string[] ids, string[] alsoText, string? jsonPath, string? markdownPath, CancellationToken stop)
    {
        var also = new List<TrafficMix>();
        foreach (var text in alsoText)
        {
            if (!TrafficMix.TryParse(text, out var mix))
            {
                await Console.Error.WriteLineAsync($"--also: '{text}' is not ADDRESSES:FRESH, e.g. 100000:1.");
                return LoadTestCommandLine.UsageExitCode;
            }

            if (await LoadTestCommandLine.RefuseInvalidAsync([.. mix.ApplyTo(settings).Validate(TargetCatalog.Nats).Select(p => $"--also {text}: {p}")]))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            also.Add(mix);
        }

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

        var outcomes = await CompareRunner.RunAsync(settings, rows, ProgressDisplay.ForConsole, Console.Out.WriteLine, stop, also);
        if (Console.IsOutputRedirected)
        {
            // Redirected output (a log file, CI) has no width to measure; Spectre then assumes 80 and wraps the
            // target names. A log line may be longer than that.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 180);
        }

        AnsiConsole.Write(CompareReport.BuildTable(outcomes, settings));
        Console.Out.WriteLine(CompareReport.DurabilityLegend(outcomes));
        Console.Out.WriteLine(CompareReport.ServerUsageLegend);
        Console.Out.WriteLine(CompareReport.TrafficLegend(outcomes));
        await CompareReport.WriteFilesAsync(outcomes, settings, jsonPath, markdownPath);
        if (outcomes.Any(o => o.Failed))
        {
            return LoadTestCommandLine.FailedExitCode;
        }

        foreach (var exceeded in outcomes.Where(o => o.ErrorRateExceeded))
        {
            await Console.Error.WriteLineAsync("error: " + ResultWriters.ErrorRateMessage(exceeded.Result!));
        }

        return outcomes.Any(o => o.ErrorRateExceeded) ? LoadTestCommandLine.ErrorRateExitCode : 0;
    }
}
