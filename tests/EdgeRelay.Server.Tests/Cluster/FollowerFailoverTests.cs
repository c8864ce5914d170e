using System.Text;
using System.Text.Json;
using EdgeRelay.Storage.JetStream;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// A node follows each stream through an R1 consumer that lives on one NATS server. When that server dies while the
/// node's own connection (to another server) stays up, nothing tells the client but missing heartbeats; the node
/// must notice within seconds, since every write round of the stream waits for the node to apply its records. And
/// when it cannot follow any more, it must say so.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class FollowerFailoverTests(NatsClusterFixture fixture, ITestOutputHelper output) : IClassFixture<NatsClusterFixture>
{
    /// <summary>
    /// The node's pull requests ask the server for a heartbeat every second, so that a consumer lost with its
    /// server is noticed after two missed beats (~2 s). The client's default, 15 s, left it 15-30 s unnoticed (30 s
    /// after the last record received), and every write round of the stream waiting as long; that was seen killing
    /// the server holding a node's consumer (writes stalled past 30 s), but a bound on that wall-clock time would
    /// also have to cover the elections the kill starts (7-19 s seen with the fix), so the request is checked instead.
    /// </summary>
    [SkippableFact]
    public async Task The_nodes_stream_consumers_ask_for_a_heartbeat_every_second()
    {
        var cluster = fixture.Get();
        var options = new JetStreamStorageOptions { Url = cluster.Url, StreamPrefix = NatsClusterFixture.NewPrefix(), Replicas = 3 };
        await using var admin = new NatsConnection(NatsOpts.Default with { Url = cluster.Url });

        // A pull request is a core NATS message to this subject, so another subscriber sees a copy of it.
        await using var requests = await admin.SubscribeCoreAsync<byte[]>($"$JS.API.CONSUMER.MSG.NEXT.{options.StreamPrefix}-ADDR.*");
        await admin.PingAsync();
        await using var storage = await JetStreamStorage.OpenAsync(options);

        // One comes at the start, then one each time the last expires (every 5 s while the stream is idle).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var request = await requests.Msgs.ReadAsync(timeout.Token);
        using var json = JsonDocument.Parse(request.Data);
        var heartbeat = TimeSpan.FromTicks(json.RootElement.GetProperty("idle_heartbeat").GetInt64() / 100);
        output.WriteLine($"pull request: {Encoding.UTF8.GetString(request.Data!)}");
        Assert.InRange(heartbeat, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2));
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
}
