namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// The cluster test classes run one after the other: each starts three nats-server processes and two relays, and
/// the kill test's timings mean something only without another cluster busy beside it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection
{
    public const string Name = "NATS cluster";
}
