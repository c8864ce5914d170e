using EdgeRelay.Testing.Nats;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// One 3-node JetStream cluster for the whole test run: starting one takes a few seconds, and every test works
/// in streams of its own (its own prefix), so tests share the servers and nothing else. Killed with the process.
/// </summary>
internal static class SharedCluster
{
    private static readonly Lazy<Task<NatsCluster>> Cluster = new(() => NatsCluster.StartAsync(3));

    public static Task<NatsCluster> GetAsync()
    {
        NatsCluster.RequireServer();
        return Cluster.Value;
    }
}
