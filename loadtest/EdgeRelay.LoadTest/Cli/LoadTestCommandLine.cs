using System.CommandLine;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// The command line: <c>run</c> (one target) and <c>compare</c> (every target back to back). Defaults come from
/// <see cref="RunSettings"/> (one place); the descriptions say what each option means for the measurement.
/// </summary>
internal static class LoadTestCommandLine
{
    /// <summary>Exit code for invalid usage (the same as System.CommandLine's parse errors).</summary>
    public const int UsageExitCode = 1;

    /// <summary>Exit code when the run could not start or failed (for compare: when any row failed; skipped rows do not count).</summary>
    public const int FailedExitCode = 2;

    /// <summary>
    /// Exit code when the run completed but its measured window failed more operations than
    /// <c>--max-error-rate</c> allows, succeeded in none, or was dominated by errors (see
    /// <see cref="RunResult.ErrorRateExceeded"/>; for compare: any row that ran). It is reported and written,
    /// but a script must not take it for a measurement of the system at work.
    /// </summary>
    public const int ErrorRateExitCode = 3;

    /// <summary>
    /// Exit code when Ctrl+C (or SIGTERM) ended a command before it had measured what it was asked: <c>run</c>
    /// cancelled before its window opened, <c>scale</c> cancelled at any point (it still prints and writes what it
    /// had measured). The same code as a failure, so that a script never takes a cancelled command for a whole one.
    /// </summary>
    public const int CancelledExitCode = FailedExitCode;

    /// <summary>After Ctrl+C the run drains and reports; this bounds how long that may take before the process is killed.</summary>
    public static readonly TimeSpan TerminationTimeout = TimeSpan.FromSeconds(60);

    public static RootCommand Build()
    {
        var o = new SharedOptions();
        var target = TargetOption(o.Defaults);
        var endpoint = new Option<string?>("--endpoint")
        {
            Description = "host:port of a running system to load. Default: none = start the target on 127.0.0.1 for this run (a fresh relay or server with a temporary data folder, removed afterwards). Must be loopback unless --allow-remote.",
            HelpName = "HOST:PORT",
        };
        var allowRemote = new Option<bool>("--allow-remote")
        {
            Description = "Allow an --endpoint or --metrics that is not a loopback address. Default: off.",
        };
        var metrics = new Option<string?>("--metrics")
        {
            Description = $"edgerelay with --endpoint: URL of that relay's Prometheus metrics (its Http:Endpoint, e.g. http://127.0.0.1:7401/metrics), scraped twice, when measuring starts and after the last reply, for its CPU time ({RelayMetricsScraper.CpuSeries}) and managed allocations ({RelayMetricsScraper.AllocatedSeries}) per message. Must be loopback unless --allow-remote. Default: none = those figures are null.",
            HelpName = "URL",
        };
        var keep = new Option<bool>("--keep")
        {
            Description = "edgerelay with --endpoint: leave the run's addresses and their pending messages on that relay (they expire after a day). Default: off = after the report every address the run created is revoked and its pending messages pulled and acknowledged.",
        };
        var redisFsync = RedisFsyncOption(o.Defaults);
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

        var run = new Command("run", "Apply load to one target for --duration after --warmup, then print latency percentiles, throughput and errors by code. Ctrl+C stops early and still reports.")
        {
            target, o.Scenario, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Rate, o.Addresses, o.FreshRatio, o.FreshPool, o.Seed, o.Prefill, o.Batch,
            o.RelayHost, o.RelaySetting, o.MaxErrorRate, o.PushWindow, o.Nodes, o.NatsNodes, o.Partitions, endpoint, allowRemote, keep, metrics, redisFsync, json, markdown,
        };
        run.SetAction((result, cancellationToken) => RunAsync(o.Bind(result) with
        {
            Target = result.GetValue(target) ?? o.Defaults.Target,
            Endpoint = result.GetValue(endpoint),
            AllowRemote = result.GetValue(allowRemote),
            Keep = result.GetValue(keep),
            Metrics = result.GetValue(metrics),
            RedisFsync = result.GetValue(redisFsync) ?? o.Defaults.RedisFsync,
            JsonPath = result.GetValue(json),
            MarkdownPath = result.GetValue(markdown),
        }, cancellationToken));

        return new RootCommand("EdgeRelay load generator: drives the relay, a raw protocol sink (the machine's ceiling), Redis or NATS JetStream with the same payloads and concurrency, and reports HdrHistogram latencies, throughput and errors. Exit codes: 0 completed within --max-error-rate; 1 invalid usage; 2 could not start or failed (compare: a row failed); 3 completed, but the measured window failed more than --max-error-rate of its operations, none succeeded, or errors dominated it (compare: a row's did).")
        {
            run,
            CompareCommand.Build(new SharedOptions()),
            SeriesCommand.Build(),
            ScaleCommand.Build(),
            FreshCommand.Build(),
            IdleAddressesCommand.Build(),
            SoakCommand.Build(),
            SoakCommand.BuildCheck(),
            FloodCommand.Build(),
        };
    }

    /// <summary>--target: shared by <c>run</c> and the cases of <c>series</c>.</summary>
    internal static Option<string> TargetOption(RunSettings defaults)
    {
        var target = new Option<string>("--target")
        {
            Description = "System under test: 'edgerelay' (the relay, in its own process by default; see --relay-host), 'raw-sink' (a protocol sink that answers OK without storing: the ceiling for the same client and payloads), 'raw-fasterlog' (records of the same size appended to a FASTER log and group-committed in-process, no network: the storage ceiling), 'redis' (a redis-server started for the run, AOF on; see --redis-fsync), 'nats' (a nats-server -js started for the run, JetStream file storage), 'edgerelay-forward' (the sending service: RM -> relay A -> relay B -> owner, both relays started for the run; not with --endpoint) or 'edgerelay-cluster' (--nodes relay processes as one service on the JetStream backend, on --nats-nodes nats-servers, all started for the run; senders and receivers dealt over the nodes round-robin). With --endpoint, a running one instead.",
            DefaultValueFactory = _ => defaults.Target,
            HelpName = "edgerelay|raw-sink|raw-fasterlog|redis|nats|edgerelay-forward|edgerelay-cluster",
        };
        target.AcceptOnlyFromAmong([.. TargetCatalog.Names]);
        return target;
    }

    /// <summary>--redis-fsync: shared by <c>run</c> and the cases of <c>series</c>.</summary>
    internal static Option<string> RedisFsyncOption(RunSettings defaults)
    {
        var redisFsync = new Option<string>("--redis-fsync")
        {
            Description = "redis only: appendfsync of the server started for the run (appendonly is always on). 'everysec' replies before fsync (compare with nats); 'always' fsyncs before replying (compare with edgerelay). With --endpoint the server's own setting is read and reported.",
            DefaultValueFactory = _ => defaults.RedisFsync,
            HelpName = "everysec|always",
        };
        redisFsync.AcceptOnlyFromAmong(RedisTarget.FsyncEverysec, RedisTarget.FsyncAlways);
        return redisFsync;
    }

    /// <summary>Parses and runs, with Ctrl+C handled by the run (it stops early and still reports) rather than killing the process.</summary>
    public static Task<int> InvokeAsync(string[] args, CancellationToken cancellationToken = default) =>
        Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TerminationTimeout }, cancellationToken);

    /// <summary>
    /// Writes every problem to stderr. Range checks live in RunSettings (shared with callers that skip the command
    /// line); they run after binding, because option validators in System.CommandLine 2.0 do not see default values.
    /// </summary>
    public static async Task<bool> RefuseInvalidAsync(IReadOnlyList<string> problems)
    {
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync(problem);
        }

        return problems.Count > 0;
    }

    private static async Task<int> RunAsync(RunSettings settings, CancellationToken stop)
    {
        if (await RefuseInvalidAsync(settings.Validate()))
        {
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
            return CancelledExitCode;
        }

        AnsiConsole.Write(SummaryTable.Build(result));
        await ResultWriters.WriteFilesAsync(result, settings.JsonPath, settings.MarkdownPath);
        if (ResultWriters.ErrorRateMessage(result) is { } exceeded)
        {
            await Console.Error.WriteLineAsync("error: " + exceeded);
            return ErrorRateExitCode;
        }

        return 0;
    }
}

/// <summary>The options <c>run</c> and <c>compare</c> share, so both parse and default them the same way.</summary>
internal sealed class SharedOptions
{
    public SharedOptions()
    {
        Scenario = new Option<string>("--scenario")
        {
            Description = "What each operation does. 'ingest': one send, done when acknowledged (the relay: durable). 'pull': messages stored first (not measured), then each connection drains its own queue in batches of --batch (PULL+ACK, RPOP count, JetStream fetch+ack). 'roundtrip': a send, done when a polling receiver has it (PULL, BRPOP, JetStream pull consumer). 'push': the same with a receiver the server pushes to (the relay: SUBSCRIBE with credit, ACK per batch of DELIVERs; a JetStream push consumer).",
            DefaultValueFactory = _ => Defaults.Scenario,
            HelpName = "ingest|pull|roundtrip|push",
        };
        Scenario.AcceptOnlyFromAmong([.. ScenarioCatalog.Names]);
        Connections = new Option<int>("--connections", "-c")
        {
            Description = $"Client connections (1..{RunSettings.MaxConnections}). pull, roundtrip and push give each its own queue and receiver.",
            DefaultValueFactory = _ => Defaults.Connections,
            HelpName = "N",
        };
        Payload = new Option<int>("--payload")
        {
            Description = "Random ciphertext bytes per message (1..1048576; the relay accepts 16384 by default; roundtrip and push need 8 or more).",
            DefaultValueFactory = _ => Defaults.PayloadBytes,
            HelpName = "BYTES",
        };
        Duration = DurationOption("--duration", "Measured time, warm-up excluded: e.g. 500ms, 20s, 2m (1s..1h). pull ends earlier if a queue runs dry.", Defaults.Duration);
        Warmup = DurationOption("--warmup", "Load applied before measuring, excluded from every result (0s..10m).", Defaults.Warmup);
        InFlight = new Option<int>("--in-flight")
        {
            Description = "Requests outstanding per connection. Closed model: always this many. Open model: at most this many (a send that finds none free goes out late, and its latency shows it). Also capped by the relay's max_in_flight. pull: always 1 (batches of one queue must not overlap).",
            DefaultValueFactory = _ => Defaults.InFlight,
            HelpName = "N",
        };
        Rate = new Option<double?>("--rate")
        {
            Description = "Open model: total messages per second over all connections, sent at fixed intended times; latency counts from the intended time. Default: none = closed model. Not with pull.",
            HelpName = "MSGS_PER_S",
        };
        Addresses = new Option<int>("--addresses")
        {
            Description = $"ingest: queues (relay addresses, Redis keys, NATS subjects) the messages are spread over (1..{RunSettings.MaxAddresses}).",
            DefaultValueFactory = _ => Defaults.Addresses,
            HelpName = "N",
        };
        FreshRatio = new Option<double>("--fresh-ratio")
        {
            Description = "ingest: share of SENDs, 0..1, that go to a newly derived ephemeral address (to the relay: a cache miss and an HPKE open each, RATE_LIMITED past a connection's budget of opens) instead of the address's one long-lived ephemeral address. Picked per SEND by a draw from --seed. Redis and NATS have no ephemeral addresses: their fresh SENDs go to the same keys and subjects. Default: 0.",
            DefaultValueFactory = _ => Defaults.FreshRatio,
            HelpName = "F",
        };
        FreshPool = new Option<int>("--fresh-pool")
        {
            Description = $"edgerelay with --fresh-ratio above 0: fresh addresses derived on every core before the warm-up (not measured; 73 bytes each), each used once; a dedicated thread derives more during the run when fewer than a quarter are left, and the result says how many it derived and how many SENDs waited ({RunSettings.MinFreshPool}..{RunSettings.MaxFreshPool}). Default: {Defaults.FreshPool}.",
            DefaultValueFactory = _ => Defaults.FreshPool,
            HelpName = "N",
        };
        RelaySetting = new Option<string[]>("--relay-setting")
        {
            Description = "edgerelay started for the run: a relay option to change, Section:Key=Value as in its configuration (e.g. Relay:ResolveMissesPerSecond=1000000 to measure fresh addresses without the per-connection budget of HPKE opens); repeatable. Ignored by the other targets; not with --endpoint. Default: none.",
            HelpName = "SECTION:KEY=VALUE",
        };
        Seed = new Option<int>("--seed")
        {
            Description = "Seed of the draw that picks the fresh SENDs: the same seed sends the same mix. Default: 1.",
            DefaultValueFactory = _ => Defaults.Seed,
            HelpName = "N",
        };
        Prefill = new Option<long?>("--prefill")
        {
            Description = $"pull: messages stored before measuring (1..{RunSettings.MaxPrefill}). Default: the target's estimated drain rate x (warm-up + duration), within 1 GiB of payload and 2,000,000 messages.",
            HelpName = "N",
        };
        Batch = new Option<int>("--batch")
        {
            Description = $"pull: messages asked for per PULL / RPOP / fetch (1..{RunSettings.MaxBatch}; the relay caps it at its max_pull_count, 256 by default, and at 1 MiB per reply).",
            DefaultValueFactory = _ => Defaults.Batch,
            HelpName = "N",
        };
        RelayHost = new Option<string>("--relay-host")
        {
            Description = "edgerelay started for the run (no --endpoint): 'process' runs the relay executable built with this tool (edgerelay.dll beside it) as a child process under the dotnet host, with its own GC heap, so its CPU time and managed allocations per message are reported (server_cpu_us_per_msg, server_alloc_bytes_per_msg); it is stopped with SIGTERM. 'in-process' hosts the relay inside the generator, which shares its CPU and heap: those figures are then null.",
            DefaultValueFactory = _ => Defaults.RelayHost,
            HelpName = "process|in-process",
        };
        RelayHost.AcceptOnlyFromAmong(EdgeRelayTarget.HostProcess, EdgeRelayTarget.HostInProcess);
        PushWindow = DurationOption("--push-window", "edgerelay, push: give the owners' addresses the batched delivery policy with this window (SET_POLICY before SUBSCRIBE): the relay pushes an address' messages no sooner than this after its last push and after the oldest arrived (1ms..1m, whole milliseconds). Default: none = the immediate policy.", null);
        Nodes = new Option<int>("--nodes")
        {
            Description = $"edgerelay-cluster: relay processes serving as one service (one service key, the JetStream backend); senders and receivers are dealt over them round-robin (1..{RunSettings.MaxNodes}). Default: {Defaults.Nodes}.",
            DefaultValueFactory = _ => Defaults.Nodes,
            HelpName = "N",
        };
        NatsNodes = new Option<int>("--nats-nodes")
        {
            Description = $"edgerelay-cluster: nats-servers of the JetStream cluster started for the run on loopback, and every stream's replicas (1, 3 or 5; one server runs unclustered). Default: {Defaults.NatsNodes}.",
            DefaultValueFactory = _ => Defaults.NatsNodes,
            HelpName = "N",
        };
        Partitions = new Option<int>("--partitions")
        {
            Description = $"edgerelay-cluster: message streams (Storage:JetStream:Partitions), each a RAFT group with its own leader (1..64). Default: {Defaults.Partitions}.",
            DefaultValueFactory = _ => Defaults.Partitions,
            HelpName = "N",
        };
        MaxErrorRate = new Option<double>("--max-error-rate")
        {
            Description = $"Largest share, 0..1, of the measured window's operations that may fail (errors / (successes + errors)) before the command exits with {LoadTestCommandLine.ErrorRateExitCode}. A window with no successful operation, or with as many failures as successes, exits with {LoadTestCommandLine.ErrorRateExitCode} whatever this is. Warm-up errors do not count.",
            DefaultValueFactory = _ => Defaults.MaxErrorRate,
            HelpName = "F",
        };
    }

    public RunSettings Defaults { get; } = new();

    public Option<string> Scenario { get; }

    public Option<int> Connections { get; }

    public Option<int> Payload { get; }

    public Option<TimeSpan?> Duration { get; }

    public Option<TimeSpan?> Warmup { get; }

    public Option<int> InFlight { get; }

    public Option<double?> Rate { get; }

    public Option<int> Addresses { get; }

    public Option<double> FreshRatio { get; }

    public Option<int> FreshPool { get; }

    public Option<int> Seed { get; }

    public Option<string[]> RelaySetting { get; }

    public Option<long?> Prefill { get; }

    public Option<int> Batch { get; }

    public Option<string> RelayHost { get; }

    public Option<double> MaxErrorRate { get; }

    public Option<TimeSpan?> PushWindow { get; }

    public Option<int> Nodes { get; }

    public Option<int> NatsNodes { get; }

    public Option<int> Partitions { get; }

    public RunSettings Bind(ParseResult result) => new()
    {
        Scenario = result.GetValue(Scenario) ?? Defaults.Scenario,
        Connections = result.GetValue(Connections),
        PayloadBytes = result.GetValue(Payload),
        Duration = result.GetValue(Duration) ?? Defaults.Duration,
        Warmup = result.GetValue(Warmup) ?? Defaults.Warmup,
        InFlight = result.GetValue(InFlight),
        Rate = result.GetValue(Rate),
        Addresses = result.GetValue(Addresses),
        FreshRatio = result.GetValue(FreshRatio),
        FreshPool = result.GetValue(FreshPool),
        Seed = result.GetValue(Seed),
        RelaySettings = result.GetValue(RelaySetting) ?? [],
        Prefill = result.GetValue(Prefill),
        Batch = result.GetValue(Batch),
        RelayHost = result.GetValue(RelayHost) ?? Defaults.RelayHost,
        MaxErrorRate = result.GetValue(MaxErrorRate),
        PushWindow = result.GetValue(PushWindow),
        Nodes = ValueOrDefault(result, Nodes, Defaults.Nodes),
        NatsNodes = ValueOrDefault(result, NatsNodes, Defaults.NatsNodes),
        Partitions = ValueOrDefault(result, Partitions, Defaults.Partitions),
    };

    /// <summary>
    /// The option's value; its default when the command does not have it (compare binds these settings too),
    /// where GetValue would give 0.
    /// </summary>
    private static int ValueOrDefault(ParseResult result, Option<int> option, int defaultValue) =>
        result.GetResult(option) is null && !result.CommandResult.Command.Options.Contains(option) ? defaultValue : result.GetValue(option);

    /// <summary>
    /// A duration option. Nullable with the default in the description, because the help's own "[default: …]"
    /// would print a TimeSpan as 00:00:10 where operators type 10s.
    /// </summary>
    internal static Option<TimeSpan?> DurationOption(string name, string description, TimeSpan? defaultValue) => new(name)
    {
        Description = defaultValue is { } value ? $"{description} Default: {DurationText.Format(value)}." : description,
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
