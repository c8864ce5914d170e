using System.Globalization;

namespace EdgeRelay.LoadTest;

/// <summary>
/// Everything one run needs, bound from the command line (or built directly by tests). Each default is
/// stated here and repeated in the <c>--help</c> text; <see cref="Validate"/> names every problem at once.
/// </summary>
internal sealed record RunSettings
{
    /// <summary>Longest measured duration: a load test is an experiment, not a soak; 1 hour bounds a forgotten run.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    public static readonly TimeSpan MaxWarmup = TimeSpan.FromMinutes(10);

    /// <summary>More connections than this is a different test (connection storms), not throughput.</summary>
    public const int MaxConnections = 10_000;

    /// <summary>The relay's own per-connection ceiling (Relay:MaxInFlightPerConnection accepts up to 65536).</summary>
    public const int MaxInFlight = 65_536;

    public const int MaxPayloadBytes = 1024 * 1024;

    /// <summary>
    /// A realistic relay serves this many long-term addresses and more. Each address has one ephemeral address
    /// that the relay keeps in its resolution cache (65536 entries by default): above that, and with fresh
    /// addresses, SENDs miss the cache, cost an HPKE open each, and may be refused with RATE_LIMITED, which
    /// the run counts and reports (see <see cref="FreshRatio"/>).
    /// </summary>
    public const int MaxAddresses = 100_000;

    /// <summary>Fewest pre-derived fresh addresses: more than any in-flight window holds at once.</summary>
    public const int MinFreshPool = 1024;

    /// <summary>Most pre-derived fresh addresses: 73 bytes each, so at most ~300 MB of the generator's memory.</summary>
    public const int MaxFreshPool = 1 << 22;

    public const double MaxRate = 10_000_000;

    /// <summary>An explicit <c>--prefill</c> above this is a storage test, not a drain measurement.</summary>
    public const long MaxPrefill = 100_000_000;

    /// <summary>The protocol's own ceiling for one PULL (ProtocolLimits.MaxPullCount); the relay caps it further (256 by default).</summary>
    public const int MaxBatch = 1024;

    /// <summary>
    /// Default <see cref="MaxErrorRate"/>: one failed operation in a hundred. A load test is read as the system
    /// at work; above that, its figures describe refusals as much as service.
    /// </summary>
    public const double DefaultMaxErrorRate = 0.01;

    /// <summary>Round trips tag each payload with an 8-byte id so the receiver can name the send it completes.</summary>
    public const int MinTaggedPayloadBytes = 8;

    /// <summary>System under test: <c>edgerelay</c> (default), <c>raw-sink</c>, <c>raw-fasterlog</c>, <c>edgerelay-forward</c>, <c>redis</c> or <c>nats</c> (see <see cref="Targets.TargetCatalog"/>).</summary>
    public string Target { get; init; } = "edgerelay";

    /// <summary>What each operation does: <c>ingest</c> (default), <c>pull</c>, <c>roundtrip</c> or <c>push</c> (see <see cref="Scenarios.ScenarioCatalog"/>).</summary>
    public string Scenario { get; init; } = "ingest";

    /// <summary>Client connections. Default 8: enough to keep both cores of a small machine busy.</summary>
    public int Connections { get; init; } = 8;

    /// <summary>Ciphertext bytes per message. Default 1024 (a typical small message).</summary>
    public int PayloadBytes { get; init; } = 1024;

    /// <summary>Measured time, warm-up excluded. Default 10 s.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Load applied before measuring (JIT, caches, group-commit rhythm). Default 2 s.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Requests outstanding per connection. Closed model: exactly this many, always. Open model: the most a
    /// connection may have outstanding; a send that finds them all taken goes out late, and its latency shows it.
    /// Default 64. The effective window is also capped by the server's advertised max_in_flight.
    /// </summary>
    public int InFlight { get; init; } = 64;

    /// <summary>Open model: total messages per second over all connections. Null (default): closed model.</summary>
    public double? Rate { get; init; }

    /// <summary>Long-term addresses the messages are spread over. Default 1.</summary>
    public int Addresses { get; init; } = 1;

    /// <summary>
    /// Ingest: the share of SENDs, from 0 to 1, that go to a newly derived ephemeral address (the relay has
    /// never seen it: a cache miss and an HPKE open) instead of the address's one long-lived ephemeral
    /// address (a cache hit). Which SENDs are fresh is drawn per SEND from <see cref="Seed"/> (see
    /// <see cref="Scenarios.FreshMix"/>). Redis and NATS have no ephemeral addresses: their fresh SENDs go to
    /// the same keys and subjects. Default 0.
    /// </summary>
    public double FreshRatio { get; init; }

    /// <summary>
    /// EdgeRelay with <see cref="FreshRatio"/> above 0: fresh ephemeral addresses derived before the warm-up
    /// (not measured) and kept ready; a dedicated thread derives more during the run only when fewer than a
    /// quarter are left (see <see cref="Targets.FreshAddressPool"/>). Default 262,144 (19 MB).
    /// </summary>
    public int FreshPool { get; init; } = 1 << 18;

    /// <summary>
    /// EdgeRelay, push: the batching window of the owners' addresses (SET_POLICY with the batched policy, before
    /// SUBSCRIBE), so the relay pushes an address' messages no sooner than this after the last push and after
    /// the oldest arrived. Null (default): the immediate policy every address starts with.
    /// </summary>
    public TimeSpan? PushWindow { get; init; }

    /// <summary>The longest <see cref="PushWindow"/> accepted: a window is for batching, not for storing.</summary>
    public static readonly TimeSpan MaxPushWindow = TimeSpan.FromMinutes(1);

    /// <summary>
    /// edgerelay-cluster: relay processes serving as one service, senders and receivers dealt over them
    /// round-robin. Default 1.
    /// </summary>
    public int Nodes { get; init; } = 1;

    /// <summary>Most relay nodes: more than this on one machine measures the scheduler.</summary>
    public const int MaxNodes = 8;

    /// <summary>
    /// edgerelay-cluster: nats-servers of the JetStream cluster, and the replicas of every stream (its R): 1, 3
    /// or 5. Default 3: a write is acknowledged once two of three servers stored it.
    /// </summary>
    public int NatsNodes { get; init; } = 3;

    /// <summary>edgerelay-cluster: message streams (Storage:JetStream:Partitions), each its own RAFT group and leader. Default 1.</summary>
    public int Partitions { get; init; } = 1;

    /// <summary>Seed of the draw that decides which SENDs are fresh, so that two runs send the same mix. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>"host:port" of a running system; null (default) starts the target for the run on loopback.</summary>
    public string? Endpoint { get; init; }

    /// <summary>
    /// EdgeRelay without <see cref="Endpoint"/>: where the relay the run starts lives. <c>process</c> (default):
    /// the relay executable as a child process, so that its CPU time and allocations per message can be
    /// reported (its own GC heap); <c>in-process</c>: a RelayHost inside the generator, sharing its heap and
    /// CPU, so those figures are null. Ignored by the other targets and with <see cref="Endpoint"/>.
    /// </summary>
    /// <remarks>
    /// The command line's default too (it takes its defaults from here). Tests that build settings or pass
    /// arguments for an in-process relay say <c>in-process</c> explicitly.
    /// </remarks>
    public string RelayHost { get; init; } = Targets.EdgeRelayTarget.HostProcess;

    /// <summary>
    /// EdgeRelay with <see cref="Endpoint"/>: the URL of that relay's Prometheus metrics, scraped when the
    /// measured window opens and after the last reply, for its CPU time and allocations per message. Null
    /// (default): those figures are null. Loopback only unless <see cref="AllowRemote"/>.
    /// </summary>
    public string? Metrics { get; init; }

    /// <summary>
    /// EdgeRelay started for the run: relay options to change, each <c>Section:Key=Value</c> (see
    /// <see cref="Targets.RelaySettings"/>). Empty (default): the relay's defaults, quotas lifted. Ignored by
    /// the other targets; refused with <see cref="Endpoint"/> (that relay's settings are its own).
    /// </summary>
    public IReadOnlyList<string> RelaySettings { get; init; } = [];

    /// <summary>
    /// EdgeRelay with <see cref="Endpoint"/>: leave the run's addresses and their pending messages on that relay.
    /// False (default): after the measurement every address the run created is revoked and what is pending at it
    /// pulled and acknowledged, so a load test does not fill a relay it does not own.
    /// </summary>
    public bool Keep { get; init; }

    /// <summary>Permit a non-loopback <see cref="Endpoint"/>. Default false: a load test aimed at the wrong host is an incident.</summary>
    public bool AllowRemote { get; init; }

    /// <summary>
    /// Redis only: the AOF fsync policy of the server the run starts, <c>everysec</c> (default) or <c>always</c>.
    /// Redis always runs with <c>appendonly yes</c>; <c>always</c> fsyncs before replying, which is what the relay's
    /// acknowledgement means (see <see cref="Targets.RedisTarget"/>). Ignored with <see cref="Endpoint"/>: the
    /// server's own setting is read and reported instead.
    /// </summary>
    public string RedisFsync { get; init; } = Targets.RedisTarget.FsyncEverysec;

    /// <summary>
    /// Pull: messages stored before the clock starts (spread evenly over the queues). Null (default): the
    /// target's estimated drain rate times warm-up plus duration, within a memory budget (see
    /// <see cref="Scenarios.PullScenario.DefaultPrefill"/>).
    /// </summary>
    public long? Prefill { get; init; }

    /// <summary>Pull: messages asked for per PULL / RPOP / fetch. Default 256, the relay's default max_pull_count.</summary>
    public int Batch { get; init; } = 256;

    /// <summary>
    /// The most failed operations the measured window may hold, as a share of all its operations
    /// (errors / (successes + errors)), 0 to 1, before the command exits with
    /// <see cref="Cli.LoadTestCommandLine.ErrorRateExitCode"/>. A window with no successful operation, or with as many
    /// failures as successes, fails whatever this is (see <see cref="Engine.LoadRunner.ExceedsErrorBudget"/>).
    /// Default <see cref="DefaultMaxErrorRate"/>.
    /// </summary>
    public double MaxErrorRate { get; init; } = DefaultMaxErrorRate;

    public string? JsonPath { get; init; }

    public string? MarkdownPath { get; init; }

    public LoadModel Model => Rate is null ? LoadModel.Closed : LoadModel.Open;

    /// <summary>
    /// Queues the target prepares (relay addresses, Redis list keys, JetStream subjects). Ingest spreads sends
    /// over <see cref="Addresses"/>; the scenarios with receivers give every connection a queue of its own, so
    /// receivers never compete for the same messages, and push takes <see cref="Addresses"/> queues when that is
    /// more (each subscribed, dealt over the receivers).
    /// </summary>
    public int Queues => Scenario switch
    {
        Scenarios.ScenarioCatalog.Ingest => Addresses,
        Scenarios.ScenarioCatalog.Push => Math.Max(Addresses, Connections),
        _ => Connections,
    };

    public IReadOnlyList<string> Validate() => Validate(Target);

    /// <summary>Validates as if <c>--target</c> were <paramref name="target"/> (compare checks the settings its rows share).</summary>
    public IReadOnlyList<string> Validate(string target)
    {
        var problems = new List<string>();
        if (!Targets.TargetCatalog.Names.Contains(target))
        {
            problems.Add($"--target: '{target}' is not one of {string.Join(", ", Targets.TargetCatalog.Names)}.");
        }

        if (!Scenarios.ScenarioCatalog.Names.Contains(Scenario))
        {
            problems.Add($"--scenario: '{Scenario}' is not one of {string.Join(", ", Scenarios.ScenarioCatalog.Names)}.");
        }

        Range(problems, "--connections", Connections, 1, MaxConnections);
        Range(problems, "--payload", PayloadBytes, 1, MaxPayloadBytes);
        Range(problems, "--in-flight", InFlight, 1, MaxInFlight);
        Range(problems, "--addresses", Addresses, 1, MaxAddresses);
        if (!double.IsFinite(FreshRatio) || FreshRatio < 0 || FreshRatio > 1)
        {
            problems.Add($"--fresh-ratio: {FreshRatio.ToString(CultureInfo.InvariantCulture)} is out of range [0, 1] (the share of SENDs on a newly derived address).");
        }

        if (!double.IsFinite(MaxErrorRate) || MaxErrorRate < 0 || MaxErrorRate > 1)
        {
            problems.Add($"--max-error-rate: {MaxErrorRate.ToString(CultureInfo.InvariantCulture)} is out of range [0, 1] (the share of failed operations a run may have).");
        }

        Range(problems, "--fresh-pool", FreshPool, MinFreshPool, MaxFreshPool);
        if (Duration < TimeSpan.FromSeconds(1) || Duration > MaxDuration)
        {
            problems.Add($"--duration: {DurationText.Format(Duration)} is out of range [1s, 1h].");
        }

        if (Warmup < TimeSpan.Zero || Warmup > MaxWarmup)
        {
            problems.Add($"--warmup: {DurationText.Format(Warmup)} is out of range [0s, 10m].");
        }

        if (Rate is { } rate && (!double.IsFinite(rate) || rate <= 0 || rate > MaxRate))
        {
            problems.Add($"--rate: {rate.ToString(CultureInfo.InvariantCulture)} is out of range (0, {MaxRate.ToString(CultureInfo.InvariantCulture)}] messages per second.");
        }

        if (Endpoint is { } endpoint && !Targets.Endpoints.TrySplit(endpoint, out _, out _))
        {
            problems.Add($"--endpoint: '{endpoint}' is not host:port.");
        }

        if (RelayHost is not (Targets.EdgeRelayTarget.HostProcess or Targets.EdgeRelayTarget.HostInProcess))
        {
            problems.Add($"--relay-host: '{RelayHost}' is not process or in-process.");
        }

        if (Metrics is { } metrics)
        {
            if (Targets.Endpoints.ParseHttpUrl(metrics) is null)
            {
                problems.Add($"--metrics: '{metrics}' is not an http(s) URL.");
            }

            if (target != Targets.TargetCatalog.EdgeRelay || Endpoint is null)
            {
                problems.Add("--metrics: applies to --target edgerelay with --endpoint only (a relay the run starts in its own process is measured without it).");
            }
        }

        if (Keep && (Endpoint is null || Target != Targets.TargetCatalog.EdgeRelay))
        {
            problems.Add("--keep: applies to --target edgerelay with --endpoint only (a relay the run starts is removed with its data).");
        }

        if (PushWindow is { } window)
        {
            if (Target is not (Targets.TargetCatalog.EdgeRelay or Targets.TargetCatalog.EdgeRelayCluster) || Scenario != Scenarios.ScenarioCatalog.Push)
            {
                problems.Add("--push-window: applies to --target edgerelay or edgerelay-cluster with --scenario push only.");
            }
            else if (window < TimeSpan.FromMilliseconds(1) || window > MaxPushWindow || window.Ticks % TimeSpan.TicksPerMillisecond != 0)
            {
                problems.Add($"--push-window: {DurationText.Format(window)} is not a whole number of milliseconds from 1ms to {DurationText.Format(MaxPushWindow)}.");
            }
        }

        if (RelaySettings.Count > 0 && Endpoint is not null)
        {
            problems.Add("--relay-setting: applies to a relay started for the run, not to one at --endpoint.");
        }

        problems.AddRange(Targets.RelaySettings.Problems(RelaySettings));

        if (RedisFsync is not (Targets.RedisTarget.FsyncEverysec or Targets.RedisTarget.FsyncAlways))
        {
            problems.Add($"--redis-fsync: '{RedisFsync}' is not everysec or always.");
        }

        if (Prefill is { } prefill)
        {
            Range(problems, "--prefill", prefill, 1, MaxPrefill);
        }

        Range(problems, "--batch", Batch, 1, MaxBatch);
        if (target == Targets.TargetCatalog.EdgeRelayForward)
        {
            if (Endpoint is not null)
            {
                problems.Add("--endpoint: edgerelay-forward starts both of its relays for the run.");
            }
        }

        problems.AddRange(Targets.EdgeRelayTarget.ClusterProblems(this, target));
        problems.AddRange(ScenarioProblems(target));
        return problems;
    }

    /// <summary>Combinations the scenario refuses: a target without the capability it needs, and options that mean nothing to it.</summary>
    private IEnumerable<string> ScenarioProblems(string target)
    {
        if (!Scenarios.ScenarioCatalog.Names.Contains(Scenario) || !Targets.TargetCatalog.Names.Contains(target))
        {
            yield break;
        }

        if (Scenarios.ScenarioCatalog.UnsupportedReason(Scenario, target) is { } reason)
        {
            yield return $"--scenario: {reason}";
        }

        if (Scenario is not (Scenarios.ScenarioCatalog.Ingest or Scenarios.ScenarioCatalog.Push) && Addresses != 1)
        {
            yield return $"--addresses: applies to ingest and push only; {Scenario} gives each connection a queue of its own.";
        }

        if (Scenario != Scenarios.ScenarioCatalog.Ingest && FreshRatio != 0)
        {
            yield return $"--fresh-ratio: applies to ingest only; {Scenario} sends to each receiver's own queue.";
        }

        if (Scenario == Scenarios.ScenarioCatalog.Pull && Rate is not null)
        {
            yield return "--rate: pull drains as fast as the target allows (closed model, one batch at a time per connection); an intended rate means nothing there.";
        }

        if (Scenario is Scenarios.ScenarioCatalog.Roundtrip or Scenarios.ScenarioCatalog.Push && PayloadBytes < MinTaggedPayloadBytes)
        {
            yield return $"--payload: {Scenario} needs at least {MinTaggedPayloadBytes} bytes (each payload carries the id of its send).";
        }
    }

    private static void Range(List<string> problems, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{name}: {value.ToString(CultureInfo.InvariantCulture)} is out of range [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}].");
        }
    }
}

internal enum LoadModel
{
    /// <summary>A fixed number of requests outstanding per connection; the next goes out when one completes.</summary>
    Closed,

    /// <summary>Requests go out at fixed intended times, whatever the system does; latency counts from the intended time.</summary>
    Open,
}
