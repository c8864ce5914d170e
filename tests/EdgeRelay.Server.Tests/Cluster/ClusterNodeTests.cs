using System.Net;
using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Nats;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// Two in-process relay nodes on one JetStream store and one service key serve as one relay: either resolves the
/// other's addresses and cards, a message accepted by one is pushed by the other, and an ack made on one is seen by
/// the other.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterNodeTests(NatsClusterFixture fixture) : IClassFixture<NatsClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [SkippableFact]
    public async Task A_message_sent_to_one_node_is_pushed_by_the_other_and_its_ack_reaches_the_first()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);
        using var owner = new Owner();

        await using var rmA = await a.ConnectAsync();
        var created = await owner.CreateAddressAsync(rmA);
        await Eventually.TrueAsync(() => b.Host.Server.Storage.TryGetAddress(created.Id, out _), "node B to know the address created on node A", Patience);

        await using var rmB = await b.ConnectAsync();
        await rmB.AuthenticateAsync(created.Id, owner.Key);
        await using var subscription = await rmB.SubscribeAsync(created.Id, credit: 16);

        await using var sender = await a.ConnectAsync();
        await sender.SendAsync(created.Card, Encoding.UTF8.GetBytes("across"));

        var message = Assert.Single(await ReadAsync(subscription));
        Assert.Equal("across", Encoding.UTF8.GetString(message.Ciphertext.Span));
        await subscription.AckAsync([message.Id]);

        // Before the ack reached node A's index, a PULL there still lists the message; after, never again.
        await rmA.AuthenticateAsync(created.Id, owner.Key);
        await Eventually.TrueAsync(async () => (await rmA.PullAsync(created.Id)).Messages.Count == 0, "the ack made on node B to reach node A", Patience);

        // Each node's metrics: B learnt of one message from another node, A of none; both applied records and are current.
        var metricsB = await MetricsAsync(b);
        Assert.Equal(1, metricsB["edgerelay_cluster_remote_arrivals_total"]);
        Assert.True(metricsB["edgerelay_cluster_records_applied_total"] >= 3, "B applied the address, the message and the ack");
        Assert.Equal(1, metricsB["edgerelay_storage_ready"]);
        Assert.Equal(0, (await MetricsAsync(a))["edgerelay_cluster_remote_arrivals_total"]);
        await Eventually.TrueAsync(async () => (await MetricsAsync(a))["edgerelay_cluster_records_behind"] == 0, "node A's index to be current", Patience);
    }

    [SkippableFact]
    public async Task Either_node_opens_an_ephemeral_address_derived_from_the_others_card()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);

        foreach (var (issuer, other) in new[] { (a, b), (b, a) })
        {
            using var owner = new Owner();
            await using var rm = await issuer.ConnectAsync();
            var created = await owner.CreateAddressAsync(rm);
            await Eventually.TrueAsync(() => other.Host.Server.Storage.TryGetAddress(created.Id, out _), "the other node to know the address", Patience);
            await rm.AuthenticateAsync(created.Id, owner.Key);
            await using var subscription = await rm.SubscribeAsync(created.Id, credit: 16);

            // The other node never issued this card: only the shared service key lets it open the ephemeral address.
            await using var sender = await other.ConnectAsync();
            var payload = Encoding.UTF8.GetBytes("via " + other.Endpoint);
            await sender.SendAsync(created.Card, payload);

            var message = Assert.Single(await ReadAsync(subscription));
            Assert.Equal(payload, message.Ciphertext.ToArray());
            await subscription.AckAsync([message.Id]);
        }
    }

    [SkippableFact]
    public async Task Readyz_answers_503_while_the_NATS_cluster_is_down_and_200_once_it_is_back()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);
        var readyz = new Uri($"http://{a.Host.HttpEndPoint}/readyz");
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await GetAsync(readyz));

        try
        {
            for (var node = 0; node < 3; node++)
            {
                await cluster.KillAsync(node);
            }

            // A killed server closes its sockets at once, so the client notices within moments and reconnects in a loop.
            await Eventually.TrueAsync(
                async () => await GetAsync(readyz) is (HttpStatusCode.ServiceUnavailable, var body) && body.StartsWith("storage not ready: NATS connection", StringComparison.Ordinal),
                "/readyz to answer 503 storage not ready",
                Patience,
                TimeSpan.FromMilliseconds(50));
            Assert.Equal(0, (await MetricsAsync(a))["edgerelay_storage_ready"]);
        }
        finally
        {
            // All at once: one server alone elects no meta leader, so a restart that waits for it would time out.
            await cluster.RestartAsync([.. Enumerable.Range(0, 3).Where(n => !cluster.IsRunning(n))]);
        }

        await Eventually.TrueAsync(async () => (await GetAsync(readyz)).Status == HttpStatusCode.OK, "/readyz to answer 200 after the restart", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, (await MetricsAsync(a))["edgerelay_storage_ready"]);

        // Back for real, not only connected: both nodes still follow the streams, so a SEND to one is pushed by the other.
        using var owner = new Owner();
        await using var rmB = await b.ConnectAsync();
        var created = await owner.CreateAddressAsync(rmB);
        await rmB.AuthenticateAsync(created.Id, owner.Key);
        await using var subscription = await rmB.SubscribeAsync(created.Id, credit: 16);
        await Eventually.TrueAsync(() => a.Host.Server.Storage.TryGetAddress(created.Id, out _), "node A to know the address created after the restart", Patience);
        await using var sender = await a.ConnectAsync();
        await sender.SendAsync(created.Card, Encoding.UTF8.GetBytes("after"));
        Assert.Equal("after", Encoding.UTF8.GetString(Assert.Single(await ReadAsync(subscription)).Ciphertext.Span));
    }

    /// <summary>A relay node on the cluster's streams of <paramref name="prefix"/>, with the service key file shared in <paramref name="dir"/>.</summary>
    internal static Task<TestRelay> StartNodeAsync(NatsCluster cluster, string prefix, TempDirectory dir, Action<EdgeRelayOptions>? configure = null) => TestRelay.StartAsync(options =>
    {
        options.Storage.Backend = "jetstream";
        options.Storage.JetStream.Url = cluster.Url;
        options.Storage.JetStream.StreamPrefix = prefix;
        options.Storage.JetStream.Replicas = 3;
        options.Relay.ServiceKeyFile = dir.Combine("service.key");
        configure?.Invoke(options);
    });

    private static async Task<ReceivedMessage[]> ReadAsync(PushSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await subscription.Deliveries.ReadAsync(timeout.Token);
    }

    /// <summary>The node's unlabelled metric samples by name.</summary>
    internal static async Task<Dictionary<string, double>> MetricsAsync(TestRelay node)
    {
        var (status, body) = await GetAsync(new Uri($"http://{node.Host.HttpEndPoint}/metrics"));
        Assert.Equal(HttpStatusCode.OK, status);
        return ParseMetrics(body);
    }

    /// <summary>The relay's unlabelled metrics in a Prometheus text exposition, by name.</summary>
    internal static Dictionary<string, double> ParseMetrics(string body) => body.Split('\n')
        .Where(l => l.StartsWith("edgerelay_", StringComparison.Ordinal) && !l.Contains('{', StringComparison.Ordinal))
        .Select(l => l.Split(' '))
        .ToDictionary(f => f[0], f => double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(Uri uri)
    {
        using var response = await Http.GetAsync(uri);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
