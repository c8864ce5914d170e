namespace EdgeRelay.LoadTest.Targets;

/// <summary>The targets <c>--target</c> accepts.</summary>
internal static class TargetCatalog
{
    public const string EdgeRelay = "edgerelay";

    public const string RawSink = "raw-sink";

    public const string Redis = "redis";

    public const string Nats = "nats";

    public const string RawFasterLog = "raw-fasterlog";

    public const string EdgeRelayForward = "edgerelay-forward";

    /// <summary>The relay as several nodes of one service on a JetStream cluster, all started for the run.</summary>
    public const string EdgeRelayCluster = "edgerelay-cluster";

    /// <summary>
    /// NATS JetStream on a cluster of <c>--nats-nodes</c> servers with every message replicated to each: the engine
    /// under <see cref="EdgeRelayCluster"/> on its own, the ceiling that target builds on.
    /// </summary>
    public const string NatsCluster = "nats-cluster";

    public static IReadOnlyList<string> Names { get; } = [EdgeRelay, RawSink, RawFasterLog, Redis, Nats, EdgeRelayForward, EdgeRelayCluster, NatsCluster];

    public static ILoadTarget Create(string name) => name switch
    {
        EdgeRelay => new EdgeRelayTarget(),
        RawSink => new RawSinkTarget(),
        RawFasterLog => new RawFasterLogTarget(),
        Redis => new RedisTarget(),
        Nats => new NatsTarget(),
        EdgeRelayForward => new EdgeRelayForwardTarget(),
        EdgeRelayCluster => EdgeRelayTarget.Cluster(),
        NatsCluster => new NatsTarget(clustered: true),
        _ => throw new ArgumentException($"Unknown target '{name}'.", nameof(name)),
    };

    /// <summary>The class behind a name: what it can do (its capability interfaces) is known before anything starts.</summary>
    public static Type TypeOf(string name) => name switch
    {
        EdgeRelay => typeof(EdgeRelayTarget),
        RawSink => typeof(RawSinkTarget),
        RawFasterLog => typeof(RawFasterLogTarget),
        Redis => typeof(RedisTarget),
        Nats => typeof(NatsTarget),
        EdgeRelayForward => typeof(EdgeRelayForwardTarget),
        EdgeRelayCluster => typeof(EdgeRelayTarget),
        NatsCluster => typeof(NatsTarget),
        _ => throw new ArgumentException($"Unknown target '{name}'.", nameof(name)),
    };
}
