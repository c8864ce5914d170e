using EdgeRelay.Client;
using EdgeRelay.Delivery;
using EdgeRelay.Server.Webhooks;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Nats;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// Two relay nodes on one JetStream store decide push and wake-ups as one relay: an owner subscribed on both is
/// pushed each message once, by the node it subscribed on last, and by the other once that connection goes;
/// a node does not wake an owner subscribed on the other; a burst spread over both nodes wakes its owner once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterPresenceTests(NatsClusterFixture fixture) : IClassFixture<NatsClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private WakeReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WakeReceiver.StartAsync(TimeProvider.System);

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [SkippableFact]
    public async Task An_owner_subscribed_on_two_nodes_is_pushed_each_message_once_by_the_node_it_subscribed_on_last_and_by_the_other_once_that_connection_closes()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);
        using var owner = new Owner();
        var created = await CreateAsync(a, b, owner, endpoint: null);

        // The owner subscribes on A (A takes the lease), then on B, as after reconnecting while its connection to A
        // went half-open: the newest subscription is served at once (B takes the lease over), not after A's timeout.
        await using var rmA = await a.ConnectAsync();
        await rmA.AuthenticateAsync(created.Id, owner.Key);
        await using var onA = await rmA.SubscribeAsync(created.Id, credit: 64);
        await Eventually.TrueAsync(() => Coordination(a).MayPush(created.Id) && Coordination(b).IsPushed(created.Id), "node A to hold the lease", Patience);
        await using var rmB = await b.ConnectAsync();
        await rmB.AuthenticateAsync(created.Id, owner.Key);
        await using var onB = await rmB.SubscribeAsync(created.Id, credit: 64);
        await Eventually.TrueAsync(() => Coordination(b).MayPush(created.Id) && !Coordination(a).MayPush(created.Id) && Coordination(a).IsPushed(created.Id), "node B to take the lease over", Patience);

        // Sent through A, where a subscriber waits too: only B pushes them.
        await using var sender = await a.ConnectAsync();
        for (var i = 0; i < 5; i++)
        {
            await sender.SendAsync(created.Card, new[] { (byte)i });
        }

        var first = await ReadAsync(onB, 5);
        Assert.Equal([0, 1, 2, 3, 4], first.Select(m => (int)m.Ciphertext.Span[0]));
        var metricsA = await ClusterNodeTests.MetricsAsync(a);
        var metricsB = await ClusterNodeTests.MetricsAsync(b);
        Assert.Equal((0.0, 1.0), (metricsA["edgerelay_cluster_push_leases_held"], metricsB["edgerelay_cluster_push_leases_held"]));
        Assert.Equal((1.0, 0.0), (metricsB["edgerelay_cluster_push_lease_takeovers_total"], metricsB["edgerelay_cluster_push_lease_handovers_total"]));

        // The owner acks three on B; once A's index dropped them, B's connection goes, and A serves what is left.
        await onB.AckAsync([first[0].Id, first[1].Id, first[2].Id]);
        await Eventually.TrueAsync(() => PendingCount(a, created.Id) == 2, "node A to see the acks", Patience);
        await onB.DisposeAsync();
        await rmB.DisposeAsync();
        for (var i = 5; i < 8; i++)
        {
            await sender.SendAsync(created.Card, new[] { (byte)i });
        }

        // A never pushed while B held the lease: its first deliveries are the two B had in flight, then the new ones.
        var rest = await ReadAsync(onA, 5);
        Assert.Equal([3, 4, 5, 6, 7], rest.Select(m => (int)m.Ciphertext.Span[0]));
        Assert.Equal([first[3].Id, first[4].Id], rest.Take(2).Select(m => m.Id));
        Assert.Equal(1, (await ClusterNodeTests.MetricsAsync(a))["edgerelay_cluster_push_leases_held"]);
    }

    [SkippableFact]
    public async Task A_node_that_accepts_sends_for_an_owner_subscribed_on_another_node_does_not_wake_it()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);
        using var owner = new Owner();
        var created = await CreateAsync(a, b, owner, _receiver.Url("/subscribed-elsewhere"));

        await using var rmB = await b.ConnectAsync();
        await rmB.AuthenticateAsync(created.Id, owner.Key);
        await using var onB = await rmB.SubscribeAsync(created.Id, credit: 64);
        await Eventually.TrueAsync(() => Coordination(a).IsPushed(created.Id), "node A to see the owner's lease on node B", Patience);

        await using var sender = await a.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            await sender.SendAsync(created.Card, new[] { (byte)i });
        }

        Assert.Equal(3, (await ReadAsync(onB, 3)).Length);

        // A decides on each SEND before its OK: a node that meant to wake would have marked the burst and suppressed two.
        Assert.Equal((0L, 0L), (Hub(a).Wakeups, Hub(a).WakeupsSuppressed));
        Assert.Equal((0L, 0L), (Hub(b).Wakeups, Hub(b).WakeupsSuppressed));
        Assert.Empty(_receiver.To("/subscribed-elsewhere"));
    }

    [SkippableFact]
    public async Task A_burst_for_an_offline_owner_spread_over_two_nodes_wakes_it_once()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var a = await StartNodeAsync(cluster, prefix, dir);
        await using var b = await StartNodeAsync(cluster, prefix, dir);
        using var owner = new Owner();
        var created = await CreateAsync(a, b, owner, _receiver.Url("/split-burst"));

        await using var toA = await a.ConnectAsync();
        await using var toB = await b.ConnectAsync();
        for (var i = 0; i < 6; i++)
        {
            await (i % 2 == 0 ? toA : toB).SendAsync(created.Card, new[] { (byte)i });
        }

        // Every message is accounted for, on one node or the other: one woke the owner, five were suppressed.
        await Eventually.TrueAsync(
            () => Hub(a).Wakeups + Hub(a).WakeupsSuppressed + Hub(b).Wakeups + Hub(b).WakeupsSuppressed == 6,
            "both nodes to decide about every message",
            Patience);
        Assert.Equal(1, Hub(a).Wakeups + Hub(b).Wakeups);
        await Eventually.TrueAsync(() => Notifier(a).Delivered + Notifier(b).Delivered == 1, "the wake-up to be delivered", Patience);
        Assert.Single(_receiver.To("/split-burst"));
    }

    private static PushHub Hub(TestRelay node) => node.Host.Server.Push;

    private static WebhookNotifier Notifier(TestRelay node) => Assert.IsType<WebhookNotifier>(node.Host.Server.Notifier);

    private static IDeliveryCoordination Coordination(TestRelay node) => Assert.IsAssignableFrom<IDeliveryCoordination>(node.Host.Server.Storage);

    private static int PendingCount(TestRelay node, AddressId aid) => node.Host.Server.Storage.GetPending(aid, MessageId.None, new PendingMessage[16]);

    private static Task<TestRelay> StartNodeAsync(NatsCluster cluster, string prefix, TempDirectory dir) => ClusterNodeTests.StartNodeAsync(cluster, prefix, dir, options =>
    {
        options.Notify.AllowHttp = true;
        options.Notify.AllowPrivateNetworks = true; // the receiver is on loopback
    });

    /// <summary>An address created on <paramref name="a"/> with its wake-up endpoint, once <paramref name="b"/> knows it as it is.</summary>
    private static async Task<CreatedAddress> CreateAsync(TestRelay a, TestRelay b, Owner owner, string? endpoint)
    {
        await using var rm = await a.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        if (endpoint is not null)
        {
            await rm.AuthenticateAsync(created.Id, owner.Key);
            await rm.SetNotifyEndpointAsync(created.Id, endpoint);
        }

        await Eventually.TrueAsync(
            () => b.Host.Server.Storage.TryGetAddress(created.Id, out var info) && info.NotifyEndpoint == endpoint,
            "node B to know the address",
            Patience);
        return created;
    }

    /// <summary>Reads deliveries until <paramref name="count"/> messages came, in order.</summary>
    private static async Task<ReceivedMessage[]> ReadAsync(PushSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var messages = new List<ReceivedMessage>();
        while (messages.Count < count)
        {
            messages.AddRange(await subscription.Deliveries.ReadAsync(timeout.Token));
        }

        return [.. messages];
    }
}
