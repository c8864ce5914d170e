using System.Collections.Concurrent;
using EdgeRelay.Storage;
using EdgeRelay.Testing;

namespace EdgeRelay.Delivery.Tests;

/// <summary>
/// The hub on a store shared by several nodes, with the store's coordination faked: it pushes only while this node
/// holds the address' lease, asks for the lease with each new subscription and gives it up with each, and wakes
/// an owner only if no live node serves it and this node won the burst's claim.
/// </summary>
public sealed class CoordinationTests
{
    private const string Endpoint = "https://push.example/wake";

    [Fact]
    public async Task A_subscriber_is_pushed_only_once_this_node_holds_the_lease_which_each_subscription_asks_for_and_gives_up_once()
    {
        var coordination = new FakeCoordination();
        await using var push = new PushFixture(coordination: coordination);
        coordination.PushChanged = push.Hub.Poke; // as the server wires it
        var aid = await push.CreateAddressAsync();
        var first = push.Target("first");
        var second = push.Target("second");
        var one = push.Hub.Subscribe(aid, first, credit: 10);
        var two = push.Hub.Subscribe(aid, second, credit: 10);
        push.Hub.Subscribe(aid, second, credit: 5); // new credit, not a new subscription
        Assert.Equal(2, coordination.Wanted(aid));

        // Another node holds the lease: what arrives, here or elsewhere, waits. Pump rounds run one after another, so
        // once a round that began after the message asked, the round that found it has finished, pushing nothing.
        push.Send(aid, 1);
        push.Hub.OnArrivedElsewhere(aid);
        var asked = coordination.Asked;
        await Eventually.TrueAsync(() => coordination.Asked > asked, "the pump to ask for the lease");
        asked = coordination.Asked;
        push.Hub.Poke(aid);
        await Eventually.TrueAsync(() => coordination.Asked > asked, "another pump round");
        Assert.Equal(0, first.Attempts + second.Attempts);

        // The lease comes here: the store says so, and the backlog goes out.
        coordination.Holds = true;
        coordination.PushChanged!(aid);
        var delivered = await Task.WhenAny(first.NextAsync(), second.NextAsync());
        Assert.Equal(PushFixture.Payload(1).Length, Assert.Single(await delivered).Length);

        push.Unsubscribe(one, first);
        push.Unsubscribe(one, first); // once only
        Assert.Equal(1, coordination.Wanted(aid));
        push.Unsubscribe(two, second);
        Assert.Equal(0, coordination.Wanted(aid));
        push.AssertNoViolation();
    }

    [Fact]
    public async Task An_owner_served_by_a_live_node_is_not_woken_and_a_lost_claim_is_a_suppressed_wakeup()
    {
        var coordination = new FakeCoordination();
        var notifier = new Notifier();
        await using var push = new PushFixture(new DeliveryOptions { WakeQuietPeriod = TimeSpan.FromSeconds(60) }, notifier, coordination);
        var aid = await push.CreateAddressAsync(notify: Endpoint);

        // Subscribed on another node: like a subscriber here, no wake-up and nothing suppressed.
        coordination.Pushed = true;
        push.Send(aid, 1);
        Assert.Equal((0L, 0L, 0), (push.Hub.Wakeups, push.Hub.WakeupsSuppressed, coordination.Claims));

        // Offline: this node claims the burst; another node won it, so this one counts the wake-up suppressed.
        coordination.Pushed = false;
        var claim = coordination.NextClaim();
        push.Send(aid, 2);
        push.Send(aid, 3); // this node's own mark covers the rest of its burst: no second claim
        Assert.Equal(1, coordination.Claims);
        claim.SetResult(false);
        await Eventually.TrueAsync(() => push.Hub.WakeupsSuppressed == 2, "the lost claim to count");
        Assert.Equal(0, notifier.Count);

        // The owner comes back, then goes: the next burst's claim is won, and the owner woken once its message is durable.
        push.Hub.OwnerActive(aid);
        Assert.Equal(1, coordination.Active);
        claim = coordination.NextClaim();
        push.Send(aid, 4);
        claim.SetResult(true);
        await Eventually.TrueAsync(() => notifier.Count == 1, "the won claim's wake-up");
        Assert.Equal((1L, 2L), (push.Hub.Wakeups, push.Hub.WakeupsSuppressed));
    }

    [Fact]
    public async Task When_the_pushing_node_dies_an_owner_with_messages_waiting_is_woken_and_no_other()
    {
        var coordination = new FakeCoordination();
        var notifier = new Notifier();
        await using var push = new PushFixture(new DeliveryOptions { WakeQuietPeriod = TimeSpan.FromSeconds(60) }, notifier, coordination);
        coordination.PushLost = push.Hub.OnPushLost; // as the server wires it
        var waiting = await push.CreateAddressAsync(notify: Endpoint);
        var empty = await push.CreateAddressAsync(notify: Endpoint);
        var subscribed = await push.CreateAddressAsync(notify: Endpoint);

        // Accepted while another node pushed them: no wake-up then.
        coordination.Pushed = true;
        await push.Storage.WaitDurableAsync(push.Send(waiting, 1).Ticket);
        await push.Storage.WaitDurableAsync(push.Send(subscribed, 2).Ticket);
        var here = push.Target("here");
        push.Hub.Subscribe(subscribed, here, credit: 0); // a subscriber here takes the lease itself
        Assert.Equal(0, coordination.Claims);

        // That node died and nobody took the leases: only the owner with a message waiting and no subscriber is woken.
        coordination.Pushed = false;
        var claim = coordination.NextClaim();
        coordination.PushLost!(empty);
        coordination.PushLost(subscribed);
        Assert.Equal(0, coordination.Claims);
        coordination.PushLost(waiting);
        Assert.Equal(1, coordination.Claims);
        claim.SetResult(true);
        await Eventually.TrueAsync(() => notifier.Count == 1, "the owner to be woken");
        Assert.Equal((1L, 0L), (push.Hub.Wakeups, push.Hub.WakeupsSuppressed));
    }

    private sealed class FakeCoordination : IDeliveryCoordination
    {
        private readonly ConcurrentDictionary<AddressId, int> _wanted = new();
        private TaskCompletionSource<bool> _claim = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _asked;
        private int _claims;
        private int _active;

        public Action<AddressId>? PushChanged { get; set; }

        public Action<AddressId>? PushLost { get; set; }

        public volatile bool Holds;

        public volatile bool Pushed;

        public int Asked => Volatile.Read(ref _asked);

        public int Claims => Volatile.Read(ref _claims);

        public int Active => Volatile.Read(ref _active);

        public int Wanted(AddressId aid) => _wanted.GetValueOrDefault(aid);

        public TaskCompletionSource<bool> NextClaim() => _claim = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool MayPush(AddressId aid)
        {
            Interlocked.Increment(ref _asked);
            return Holds;
        }

        public void WantPush(AddressId aid) => _wanted.AddOrUpdate(aid, 1, (_, n) => n + 1);

        public void DropPush(AddressId aid) => _wanted.AddOrUpdate(aid, -1, (_, n) => n - 1);

        public bool IsPushed(AddressId aid) => Pushed;

        public ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod)
        {
            Interlocked.Increment(ref _claims);
            return new(_claim.Task);
        }

        public void OwnerActive(AddressId aid) => Interlocked.Increment(ref _active);
    }

    private sealed class Notifier : IWakeupNotifier
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public bool Wake(string endpoint)
        {
            Interlocked.Increment(ref _count);
            return true;
        }

        public ValueTask DisposeAsync() => default;
    }
}
