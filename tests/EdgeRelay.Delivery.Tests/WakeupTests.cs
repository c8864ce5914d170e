using System.Collections.Concurrent;
using EdgeRelay.Testing;

namespace EdgeRelay.Delivery.Tests;

/// <summary>
/// When the hub wakes an owner who is not connected: once per burst, only once the message is durable, again
/// after the owner came back or the quiet period passed, never for a pull-only address or a subscribed one.
/// The decision is synchronous (what is suppressed is counted at once); only the wait for durability is not.
/// </summary>
public sealed class WakeupTests
{
    private const string Endpoint = "https://push.example/wake";
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_burst_wakes_its_owner_once_and_only_once_the_first_message_is_durable()
    {
        var notifier = new CountingNotifier();
        await using var push = new PushFixture(new DeliveryOptions { WakeQuietPeriod = Quiet }, notifier);
        var aid = await push.CreateAddressAsync(notify: Endpoint);
        push.Storage.HoldFlushes();
        var observed = push.Storage.WhenAnyObservedUndurable();

        push.Send(aid, 1);
        push.Send(aid, 2);
        push.Send(aid, 3);

        Assert.Equal(2, push.Hub.WakeupsSuppressed);
        await observed.Within(); // the wake-up waits for the first message's durability
        Assert.Equal(0, notifier.Count);
        push.Storage.ReleaseFlushes();

        await Eventually.TrueAsync(() => notifier.Count == 1, "one wake-up once the message is durable");
        Assert.Equal(Endpoint, Assert.Single(notifier.Endpoints));
        Assert.Equal(1, push.Hub.Wakeups);
    }

    [Fact]
    public async Task The_owner_coming_back_or_the_quiet_period_passing_allows_the_next_wake_up()
    {
        var notifier = new CountingNotifier();
        await using var push = new PushFixture(new DeliveryOptions { WakeQuietPeriod = Quiet }, notifier);
        var aid = await push.CreateAddressAsync(notify: Endpoint);
        push.Send(aid, 1);
        await Eventually.TrueAsync(() => notifier.Count == 1, "the first wake-up");

        push.Send(aid, 2);
        Assert.Equal(1, push.Hub.WakeupsSuppressed);

        push.Hub.OwnerActive(aid); // the owner pulled
        push.Send(aid, 3);
        await Eventually.TrueAsync(() => notifier.Count == 2, "a wake-up after the owner came back");

        push.Time.Advance(Quiet - TimeSpan.FromSeconds(1));
        push.Hub.ExpireWakeMarks();
        push.Send(aid, 4);
        Assert.Equal(2, push.Hub.WakeupsSuppressed);

        push.Time.Advance(TimeSpan.FromSeconds(1));
        push.Hub.ExpireWakeMarks();
        push.Send(aid, 5);
        await Eventually.TrueAsync(() => notifier.Count == 3, "a wake-up after the quiet period");
        Assert.Equal(2, push.Hub.WakeupsSuppressed);
    }

    [Fact]
    public async Task Pull_only_addresses_addresses_without_an_endpoint_and_subscribed_addresses_are_never_woken()
    {
        var notifier = new CountingNotifier();
        await using var push = new PushFixture(new DeliveryOptions { WakeQuietPeriod = Quiet }, notifier);
        var pullOnly = await push.CreateAddressAsync(EdgeRelay.DeliveryPolicy.PullOnly, notify: Endpoint);
        var silent = await push.CreateAddressAsync();
        var subscribed = await push.CreateAddressAsync(notify: Endpoint);
        var target = push.Target("app");
        push.Hub.Subscribe(subscribed, target, credit: 10);

        push.Send(pullOnly, 1);
        push.Send(silent, 2);
        var (id, _) = push.Send(subscribed, 3);

        // The decision is made in OnAppended itself: none of these started a wake-up, and none was suppressed.
        Assert.Equal((0L, 0L), (push.Hub.Wakeups, push.Hub.WakeupsSuppressed));
        Assert.Equal(id, Assert.Single(await target.NextAsync()).Id);
        Assert.Equal(0, notifier.Count);
    }

    private sealed class CountingNotifier : IWakeupNotifier
    {
        public ConcurrentQueue<string> Endpoints { get; } = new();

        public int Count => Endpoints.Count;

        public bool Wake(string endpoint)
        {
            Endpoints.Enqueue(endpoint);
            return true;
        }

        public ValueTask DisposeAsync() => default;
    }
}
