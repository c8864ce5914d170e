using System.CommandLine;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// The command line. Defaults come from <see cref="RunSettings"/> (one place); the descriptions say what each
/// option means for the measurement, and <c>--help</c> shows the default next to each.
/// </summary>
internal static class LoadTestCommandLine
{
    /// <summary>Exit code for invalid usage (the same as System.CommandLine's parse errors).</summary>
    public const int UsageExitCode = 1;

    /// <summary>Exit code when the run could not start or failed.</summary>
    public const int FailedExitCode = 2;

    /// <summary>After Ctrl+C the run drains and reports; this bounds how long that may take before the process is killed.</summary>
    public static readonly TimeSpan TerminationTimeout = TimeSpan.FromSeconds(60);

    public static RootCommand Build()
    {
        var defaults = new RunSettings();
        var target = new Option<string>("--target")
        {
            Description = "System under test: 'edgerelay' (the relay; in-process unless --endpoint) or 'raw-sink' (a protocol sink that answers OK without storing: the machine's ceiling for the same client and payloads).",
            DefaultValueFactory = _ => defaults.Target,
            HelpName = "edgerelay|raw-sink",
        };
        target.AcceptOnlyFromAmong([.. TargetCatalog.Names]);
        var scenario = new Option<string>("--scenario")
        {
            Description = "What each operation does: 'ingest' = one SEND of --payload bytes, done when acknowledged (for the relay: durable).",
            DefaultValueFactory = _ => defaults.Scenario,
            HelpName = "ingest",
        };
        scenario.AcceptOnlyFromAmong([.. ScenarioCatalog.Names]);
        var connections = new Option<int>("--connections", "-c")
        {
            Description = $"Client connections (1..{RunSettings.MaxConnections}).",
            DefaultValueFactory = _ => defaults.Connections,
            HelpName = "N",
        };
        var payload = new Option<int>("--payload")
        {
            Description = "Random ciphertext bytes per message (1..1048576; the relay accepts 16384 by default).",
            DefaultValueFactory = _ => defaults.PayloadBytes,
            HelpName = "BYTES",
        };
        var duration = DurationOption("--duration", "Measured time, warm-up excluded: e.g. 500ms, 20s, 2m (1s..1h).", defaults.Duration);
        var warmup = DurationOption("--warmup", "Load applied before measuring, excluded from every result (0s..10m).", defaults.Warmup);
        var inFlight = new Option<int>("--in-flight")
        {
            Description = "Requests outstanding per connection. Closed model: always this many. Open model: at most this many (a send that finds none free goes out late, and its latency shows it). Also capped by the server's max_in_flight.",
            DefaultValueFactory = _ => defaults.InFlight,
            HelpName = "N",
        };
        var rate = new Option<double?>("--rate")
        {
            Description = "Open model: total messages per second over all connections, sent at fixed intended times; latency counts from the intended time. Default: none = closed model.",
            HelpName = "MSGS_PER_S",
        };
        var addresses = new Option<int>("--addresses")
        {
            Description = $"Long-term addresses the messages are spread over, created with a throwaway key (1..{RunSettings.MaxAddresses}).",
            DefaultValueFactory = _ => defaults.Addresses,
            HelpName = "N",
        };
        var endpoint = new Option<string?>("--endpoint")
        {
            Description = "host:port of a running system to load. Default: none = start the target in-process on 127.0.0.1 (a fresh relay with a temporary data folder, deleted afterwards). Must be loopback unless --allow-remote.",
            HelpName = "HOST:PORT",
        };
        var allowRemote = new Option<bool>("--allow-remote")
        {
            Description = "Allow an --endpoint that is not a loopback address. Default: off.",
        };
        var json = new Option<string?>("--json")
        {
            Description = "Also write the result as one JSON object to this file. Default: none.",
            HelpName = "FILE",
        };
        var markdown = new Option<string?>("--markdown")
        {
            Description = "Also write the result as a one-row markdown table (with header) to this file. Default: none.",
            HelpName = "FILE",
        };

        var run = new Command("run", "Apply load for --duration after --warmup, then print latency percentiles, throughput and errors by code. Ctrl+C stops early and still reports.")
        {
            target, scenario, connections, payload, duration, warmup, inFlight, rate, addresses, endpoint, allowRemote, json, markdown,
        };

        RunSettings Bind(ParseResult result) => new()
        {
            Target = result.GetValue(target) ?? defaults.Target,
            Scenario = result.GetValue(scenario) ?? defaults.Scenario,
            Connections = result.GetValue(connections),
            PayloadBytes = result.GetValue(payload),
            Duration = result.GetValue(duration) ?? defaults.Duration,
            Warmup = result.GetValue(warmup) ?? defaults.Warmup,
            InFlight = result.GetValue(inFlight),
            Rate = result.GetValue(rate),
            Addresses = result.GetValue(addresses),
            Endpoint = result.GetValue(endpoint),
            AllowRemote = result.GetValue(allowRemote),
            JsonPath = result.GetValue(json),
            MarkdownPath = result.GetValue(markdown),
        };

        run.SetAction((parseResult, cancellationToken) => RunAsync(Bind(parseResult), cancellationToken));

        return new RootCommand("EdgeRelay load generator: drives a relay (or a raw protocol sink, for the machine's ceiling) with the real client and reports HdrHistogram latencies, throughput and errors.")
        {
            run,
        };
    }

    /// <summary>Parses and runs, with Ctrl+C handled by the run (it stops early and still reports) rather than killing the process.</summary>
    public static Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default) =>
        Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TerminationTimeout }, cancellationToken);

    private static async Task<int> RunAsync(RunSettings settings, CancellationToken stop)
    {
        // Range checks live in RunSettings (shared with callers that skip the command line); they run here,
        // after binding, because option validators in System.CommandLine 2.0 do not see default values.
        var problems = settings.Validate();
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync(problem);
            }

            return UsageExitCode;
        }

        RunResult result;
        try
        {
            result = await LoadRunner.RunAsync(settings, ProgressDisplay.ForConsole(), Console.Out.WriteLine, stop);
        }
        catch (LoadTestException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return FailedExitCode;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("cancelled before the run started");
            return FailedExitCode;
        }

        AnsiConsole.Write(SummaryTable.Build(result));
        await ResultWriters.WriteFilesAsync(result, settings.JsonPath, settings.MarkdownPath);
        return 0;
    }

    /// <summary>
    /// A duration option. Nullable with the default in the description, because the help's own "[default: …]"
    /// would print a TimeSpan as 00:00:10 where operators type 10s.
    /// </summary>
    private static Option<TimeSpan?> DurationOption(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = $"{description} Default: {DurationText.Format(defaultValue)}.",
        HelpName = "TIME",
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return null;
            }

            var text = result.Tokens[0].Value;
            if (DurationText.TryParse(text, out var value))
            {
                return value;
            }

            result.AddError($"{name}: '{text}' is not a duration; use e.g. 500ms, 20s, 2m or 1h.");
            return default;
        },
    };
}
