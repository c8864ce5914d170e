using System.Diagnostics;
using EdgeRelay.Storage.JetStream;
using EdgeRelay.Testing.Nats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// A node follows each stream through an R1 consumer that lives on one NATS server. When that server dies while the
/// node's own connection (to another server) stays up, nothing tells the client but missing heartbeats; the node
/// must notice within seconds, since every write round of the stream waits for the node to apply its records.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FollowerFailoverTests(NatsClusterFixture fixture, ITestOutputHelper output) : IClassFixture<NatsClusterFixture>
{
    /// <summary>
    /// The client's default heartbeat (15 s, recreated after two missed) takes 15-30 s to notice the loss; a short one
    /// takes ~2 s, plus a new consumer, plus the stream's election when the lost server led it.
    /// </summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(12);

    [SkippableFact]
    public async Task A_write_completes_within_seconds_after_the_server_holding_the_nodes_stream_consumer_is_killed()
    {
        var cluster = fixture.Get();
        var options = new JetStreamStorageOptions { Url = cluster.Url, StreamPrefix = NatsClusterFixture.NewPrefix(), Replicas = 3 };
        var stream = options.StreamPrefix + "-ADDR";
        await using var admin = new NatsConnection(NatsOpts.Default with { Url = cluster.Url });
        var js = new NatsJSContext(admin);
        var opened = new List<(NatsConnection Connection, JetStreamStorage Storage)>();
        try
        {
            var seen = new HashSet<string>();
            for (var server = 0; server < cluster.Urls.Count; server++)
            {
                // One server per node's connection, so the test knows which server the connection is on.
                var connection = new NatsConnection(NatsOpts.Default with { Url = cluster.Urls[server] });
                var storage = await JetStreamStorage.OpenAsync(options, connection: connection);
                opened.Add((connection, storage));
                var host = await NewConsumerHostAsync(js, stream, seen);
                output.WriteLine($"node connected to {cluster.Names[server]}: its consumer of {stream} is on {host}");
                if (host == cluster.Names[server])
                {
                    // Losing that server drops the connection too, which the client notices at once: not the case here.
                    continue;
                }

                await AssertWritesAfterKillingAsync(cluster, cluster.IndexOf(host), storage);
                return;
            }

            Assert.Fail($"Every node's consumer of {stream} was placed on the server its connection is on.");
        }
        finally
        {
            foreach (var (connection, storage) in opened)
            {
                await storage.DisposeAsync();
                await connection.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task A_node_whose_follower_stops_for_good_reports_its_store_failed()
    {
        var cluster = fixture.Get();
        var options = new JetStreamStorageOptions { Url = cluster.Url, StreamPrefix = NatsClusterFixture.NewPrefix(), Replicas = 3 };
        await using var storage = await JetStreamStorage.OpenAsync(options);
        Assert.Null(storage.Failure);

        // A stream deleted under the node (an operator's mistake): its follower cannot make a consumer again. A node
        // that went on without it would serve an index that no longer follows the cluster (other nodes' messages
        // never pushed, their acks never seen), so the store must fail for the relay to stop and be restarted.
        await using var admin = new NatsConnection(NatsOpts.Default with { Url = cluster.Url });
        await new NatsJSContext(admin).DeleteStreamAsync(options.StreamPrefix + "-ADDR");
        await Testing.Eventually.TrueAsync(() => storage.Failure is not null, "the store to report its follower's failure", TimeSpan.FromSeconds(30));
    }

    private async Task AssertWritesAfterKillingAsync(NatsCluster cluster, int host, JetStreamStorage storage)
    {
        using var owner = new Owner();
        var key = owner.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        await storage.WaitDurableAsync(await storage.CreateAddressAsync(AddressId.NewRandom(), key, expires));

        await cluster.KillAsync(host);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var ticket = await storage.CreateAddressAsync(AddressId.NewRandom(), key, expires);
            using var timeout = new CancellationTokenSource(Bound);
            try
            {
                await storage.WaitDurableAsync(ticket, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                Assert.Fail($"A write was not durable {Bound.TotalSeconds:F0} s after {cluster.Names[host]}, which held the node's consumer, was killed.");
            }

            output.WriteLine($"a write after killing {cluster.Names[host]} was durable in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
        }
        finally
        {
            await cluster.RestartAsync(host);
        }
    }

    /// <summary>The server holding the stream's consumer that was not there before (the node just opened made it).</summary>
    private static async Task<string> NewConsumerHostAsync(NatsJSContext js, string stream, HashSet<string> seen)
    {
        await foreach (var consumer in js.ListConsumersAsync(stream))
        {
            if (seen.Add(consumer.Info.Name))
            {
                return consumer.Info.Cluster?.Leader ?? throw new InvalidOperationException($"Consumer {consumer.Info.Name} reports no server.");
            }
        }

        throw new InvalidOperationException($"No new consumer of {stream}.");
    }
}
