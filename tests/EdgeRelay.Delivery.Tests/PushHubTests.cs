using EdgeRelay.Storage;
using EdgeRelay.Testing;

namespace EdgeRelay.Delivery.Tests;

/// <summary>
/// The push pump against the in-memory storage and fake targets, on a fake clock: durability, order, credit,
/// one place at a time, redelivery, latency policies. No test sleeps; see <see cref="PushFixture"/>.
/// </summary>
public sealed class PushHubTests
{
    [Fact]
    public async Task A_message_is_pushed_only_once_it_is_durable()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var target = push.Target("a");
        push.Hub.Subscribe(aid, target, credit: 10);
        push.Storage.HoldFlushes();
        var observed = push.Storage.WhenAnyObservedUndurable();

        var (id, _) = push.Send(aid, 1);

        // The pump asks whether the newest arrival is durable before it waits for it: from then on it is
        // parked, and a pump that pushed what is not durable would already have delivered.
        await observed.Within();
        Assert.False(target.HasPendingDelivery, "a message was pushed before it was durable");

        push.Storage.ReleaseFlushes();

        Assert.Equal(id, Assert.Single(await target.NextAsync()).Id);
        push.AssertNoViolation();
    }

    [Theory]
    [InlineData(true)]  // the SEND notified the pump
    [InlineData(false)] // the SEND came before the first subscriber, so nothing notified the pump
    public async Task A_message_that_becomes_durable_just_after_the_pump_listed_nothing_is_still_pushed(bool subscribedFirst)
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var target = push.Target("a");
        if (subscribedFirst)
        {
            push.Hub.Subscribe(aid, target, credit: 10); // before the hold: no flush round of its own is pending
        }

        push.Storage.HoldFlushes();

        // The flush lands right after the pump's listing came back empty (the message was not durable yet)
        // and before the pump decides whether to wait: a pump that asks "is the newest durable?" only after
        // listing sees "yes", believes it pushed everything, and sleeps until the next SEND.
        var landed = 0;
        push.Storage.PendingListed += (listed, count) =>
        {
            if (listed == aid && count == 0 && push.Storage.UndurableRecords > 0 && Interlocked.Exchange(ref landed, 1) == 0)
            {
                push.Storage.ReleaseFlushes();
            }
        };

        var (id, _) = push.Send(aid, 1);
        if (!subscribedFirst)
        {
            push.Hub.Subscribe(aid, target, credit: 10);
        }

        Assert.Equal(id, Assert.Single(await target.NextAsync()).Id);
        Assert.Equal(1, landed);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task Subscribing_pushes_the_backlog_in_id_order()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var ids = Enumerable.Range(0, 50).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        var target = push.Target("a");

        push.Hub.Subscribe(aid, target, credit: 1000);

        Assert.Equal(ids, (await target.ReceiveAsync(50)).Select(m => m.Id));
        Assert.Equal(1, push.Hub.Subscribers);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task A_subscriber_gets_exactly_the_credit_it_granted_and_more_when_it_grants_more()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var ids = Enumerable.Range(0, 10).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        var stingy = push.Target("stingy");
        var stingySubscription = push.Hub.Subscribe(aid, stingy, credit: 3);
        Assert.Equal(ids[..3], (await stingy.ReceiveAsync(3)).Select(m => m.Id));

        // A second subscriber with plenty of credit takes the rest: had the first got more than its 3, the
        // second could not collect its 7, and this wait would fail.
        var generous = push.Target("generous");
        push.Hub.Subscribe(aid, generous, credit: 100);
        Assert.Equal(ids[3..], (await generous.ReceiveAsync(7)).Select(m => m.Id));
        Assert.Equal(3, stingy.Received.Length);

        // More messages and more credit for the first: it gets as many as it grants, in turn with the other.
        await push.AckAsync(aid, ids);
        var later = Enumerable.Range(10, 4).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        push.Hub.Grant(stingySubscription, 2);
        await Eventually.TrueAsync(() => stingy.Received.Length - 3 + generous.Received.Length - 7 == 4, "the four later messages to be delivered");
        Assert.True(stingy.Received.Length - 3 <= 2, $"the first subscriber got {stingy.Received.Length - 3} of the later messages with 2 credit");
        Assert.Equal(later.Order(), stingy.Received.Skip(3).Concat(generous.Received.Skip(7)).Select(m => m.Id).Order());
        push.AssertNoViolation();
    }

    [Fact]
    public async Task Credit_grants_are_capped()
    {
        await using var push = new PushFixture(new DeliveryOptions { MaxCredit = 5 });
        var aid = await push.CreateAddressAsync();
        var ids = Enumerable.Range(0, 12).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        var greedy = push.Target("greedy");
        var subscription = push.Hub.Subscribe(aid, greedy, credit: 1000);
        Assert.Equal(ids[..5], (await greedy.ReceiveAsync(5)).Select(m => m.Id));

        // A grant on top of a full window is capped too; a second subscriber collects the rest.
        push.Hub.Grant(subscription, 1000);
        var witness = push.Target("witness");
        push.Hub.Subscribe(aid, witness, credit: 100);
        await Eventually.TrueAsync(() => greedy.Received.Length + witness.Received.Length == 12, "all twelve messages to be delivered");
        Assert.True(greedy.Received.Length <= 10, $"{greedy.Received.Length} messages went to a subscriber capped at 5 credit, granted once more");
        push.AssertNoViolation();
    }

    [Fact]
    public async Task A_message_is_in_flight_to_one_subscriber_at_a_time_and_goes_to_another_when_its_subscription_ends()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var first = push.Target("first");
        var firstSubscription = push.Hub.Subscribe(aid, first, credit: 8);
        var second = push.Target("second");
        var secondSubscription = push.Hub.Subscribe(aid, second, credit: 8);
        var ids = Enumerable.Range(0, 12).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();

        await Eventually.TrueAsync(() => first.Received.Length + second.Received.Length == 12, "all twelve messages to be delivered once");
        Assert.NotEmpty(first.Received);
        Assert.Empty(first.Received.Select(m => m.Id).Intersect(second.Received.Select(m => m.Id)));
        Assert.All(first.Received, m => Assert.True(push.Hub.IsInFlight(aid, m.Id)));

        // The second acks what it got (and grants that much credit again, as an app does); the first goes away
        // without acking: its messages go to the second.
        await push.AckAsync(aid, [.. second.Received.Select(m => m.Id)]);
        push.Hub.Grant(secondSubscription, (uint)second.Received.Length);
        var abandoned = first.Received.Select(m => m.Id).ToArray();
        var before = second.Received.Length;
        push.Unsubscribe(firstSubscription, first);

        await Eventually.TrueAsync(() => second.Received.Length == before + abandoned.Length, "the first subscriber's messages to go to the second");
        Assert.Equal(abandoned.Order(), second.Received.Skip(before).Select(m => m.Id).Order());
        Assert.Equal(12, ids.Length);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task An_acknowledged_message_is_not_redelivered_when_its_subscription_ends()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var first = push.Target("first");
        var subscription = push.Hub.Subscribe(aid, first, credit: 10);
        var ids = Enumerable.Range(0, 3).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        Assert.Equal(ids, (await first.ReceiveAsync(3)).Select(m => m.Id));
        await push.AckAsync(aid, ids[0], ids[1]);

        push.Unsubscribe(subscription, first);
        var second = push.Target("second");
        push.Hub.Subscribe(aid, second, credit: 10);

        Assert.Equal(ids[2], Assert.Single(await second.NextAsync()).Id);
        Assert.False(push.Hub.IsInFlight(aid, ids[0]));
        push.AssertNoViolation();
    }

    [Fact]
    public async Task A_target_that_could_read_nothing_gets_its_credit_back()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var target = push.Target("a");
        target.Outcome = DeliveryOutcome.NothingReadable;
        var subscription = push.Hub.Subscribe(aid, target, credit: 1);
        var (id, _) = push.Send(aid, 1);
        await push.Storage.FlushAsync();
        await Eventually.TrueAsync(() => target.Attempts >= 1 && !push.Hub.IsInFlight(aid, id), "the pump to try once and take the message back");

        // Its one unit of credit came back: the next attempt delivers.
        target.Outcome = DeliveryOutcome.Sent;
        push.Hub.Poke(aid);

        Assert.Equal(id, Assert.Single(await target.NextAsync()).Id);
        Assert.True(subscription.AddressId == aid);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task Batched_delivery_waits_out_the_window_then_pushes_the_burst_at_once_and_the_next_message_waits_a_window_too()
    {
        await using var push = new PushFixture();
        var window = TimeSpan.FromMilliseconds(200);
        var aid = await push.CreateAddressAsync(DeliveryPolicy.Batched(window));
        var target = push.Target("a");
        var parked = push.Time.WhenTimerCreated(window);
        push.Hub.Subscribe(aid, target, credit: 100);

        var burst = Enumerable.Range(0, 5).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();

        // The pump computed its wait and is parked on the clock; nothing may arrive until the window passes.
        Assert.Equal(window, await parked.Within());
        push.Time.Advance(window - TimeSpan.FromMilliseconds(1));
        Assert.False(target.HasPendingDelivery, "pushed inside the window");
        push.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(burst, (await target.NextAsync()).Select(m => m.Id));

        // The next message waits a window after that push.
        parked = push.Time.WhenTimerCreated(window);
        var later = push.Send(aid, 99).Id;
        await push.Storage.FlushAsync();
        await parked.Within();
        Assert.False(target.HasPendingDelivery);
        push.Time.Advance(window);
        Assert.Equal(later, Assert.Single(await target.NextAsync()).Id);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task A_pull_only_address_is_never_pushed_and_its_messages_go_out_once_the_policy_allows()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync(DeliveryPolicy.PullOnly);
        var target = push.Target("a");
        push.Hub.Subscribe(aid, target, credit: 100);
        var ids = Enumerable.Range(0, 3).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();

        // Back to immediate: the waiting messages are pushed at once. Each delivery checks that the policy
        // allowed it when it happened, so one made while pull-only would be a violation.
        await push.Storage.WaitDurableAsync((await push.Storage.SetPolicyAsync(aid, DeliveryPolicy.Immediate)).Ticket);
        push.Hub.Poke(aid);

        Assert.Equal(ids, (await target.ReceiveAsync(3)).Select(m => m.Id));
        push.AssertNoViolation();
    }

    [Fact]
    public async Task The_last_unsubscribe_retires_the_address_and_a_new_subscription_starts_afresh()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var first = push.Target("first");
        var subscription = push.Hub.Subscribe(aid, first, credit: 4);
        var id = push.Send(aid, 1).Id;
        await push.Storage.FlushAsync();
        Assert.Equal(id, Assert.Single(await first.NextAsync()).Id);

        push.Unsubscribe(subscription, first);
        Assert.Equal(0, push.Hub.Subscribers);
        Assert.False(push.Hub.IsInFlight(aid, id));

        var again = push.Target("again");
        push.Hub.Subscribe(aid, again, credit: 4);
        Assert.Equal(id, Assert.Single(await again.NextAsync()).Id);
        push.AssertNoViolation();
    }

    [Fact]
    public async Task Subscribing_twice_from_one_target_replaces_its_credit()
    {
        await using var push = new PushFixture();
        var aid = await push.CreateAddressAsync();
        var target = push.Target("a");
        var first = push.Hub.Subscribe(aid, target, credit: 0);
        var second = push.Hub.Subscribe(aid, target, credit: 2);

        Assert.Same(first, second);
        Assert.Equal(1, push.Hub.Subscribers);
        var ids = Enumerable.Range(0, 2).Select(i => push.Send(aid, i).Id).ToArray();
        await push.Storage.FlushAsync();
        Assert.Equal(ids, (await target.ReceiveAsync(2)).Select(m => m.Id));
        push.AssertNoViolation();
    }
}
