using EdgeRelay.Testing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;

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

    /// <summary>Leaves the shared cluster as it was: deletes the streams named <paramref name="prefix"/>-*.</summary>
    public static async Task DeleteStreamsAsync(string prefix)
    {
        var cluster = await GetAsync();
        await using var cleanup = new NatsConnection(new NatsOpts { Url = cluster.Url });
        var js = new NatsJSContext(cleanup);
        await foreach (var name in js.ListStreamNamesAsync())
        {
            if (name.StartsWith(prefix + "-", StringComparison.Ordinal))
            {
                await js.DeleteStreamAsync(name);
            }
        }
    }
}
