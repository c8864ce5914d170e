using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>
/// The batched sending mode in the engine, on a fake clock: a message waits for its release time (the next multiple
/// of its batch interval since the epoch), every message of one release leaves at that instant in a random order,
/// and neither the maximum age nor a restart is changed by the wait. <see cref="EngineFixture.Start"/> is a multiple
/// of every interval used here.
/// </summary>
public sealed class BatchedTests
{
    private const long Interval = 30_000;

    private static readonly TimeSpan Release = TimeSpan.FromMilliseconds(Interval);

    [Fact]
    public async Task A_batched_message_waits_for_its_release_time_and_goes_at_it()
    {
        await using var fx = new EngineFixture();
        var peer = fx.Peers["b.test:7400"];
        fx.Engine.Start();
        fx.Clock.Advance(TimeSpan.FromSeconds(12));

        // Queued 12 s into the interval: the worker parks for exactly the 18 s left until the boundary.
        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(18));
        var id = await fx.SubmitAsync(1, batchMs: Interval);
        await parked.Within();
        Assert.Equal(1, fx.Engine.HeldMessages);

        // A millisecond before the boundary the receiving relay has nothing and the send is still queued.
        fx.Clock.Advance(TimeSpan.FromSeconds(18) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(peer.Stored);
        Assert.Equal(0, peer.ConnectAttempts);
        Assert.True(fx.Queue.TryGetStatus(id, out var status) && status.State == OutboundState.Queued);
        Assert.Empty(fx.Told);

        fx.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await fx.UntilToldAsync(1);

        Assert.Equal(1, EngineFixture.Seed(Assert.Single(peer.Stored)));
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State);
        Assert.Equal(0, fx.Engine.HeldMessages);
    }

    [Fact]
    public async Task Every_message_of_one_release_goes_out_at_it_in_an_order_unrelated_to_their_queue_order()
    {
        await using var fx = new EngineFixture();
        var peer = fx.Peers["b.test:7400"];
        fx.Engine.Start();
        var ids = new List<long>();
        Task<TimeSpan>? parked = null;
        for (var i = 0; i < 20; i++)
        {
            fx.Clock.Advance(TimeSpan.FromSeconds(1)); // queued at 1 s, 2 s, ... 20 s into the interval
            if (i == 19)
            {
                parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)); // the wait for the boundary, from 20 s
            }

            ids.Add(await fx.SubmitAsync(i, batchMs: Interval));
        }

        await parked!.Within();
        Assert.Empty(peer.Stored);
        Assert.Equal(20, fx.Engine.HeldMessages);

        // The clock stops at the boundary: whatever goes out, goes out at that instant.
        fx.Clock.Advance(TimeSpan.FromSeconds(10));
        await fx.UntilToldAsync(20);

        var order = peer.Stored.Select(EngineFixture.Seed).ToList();
        Assert.Equal(Enumerable.Range(0, 20), order.Order());
        Assert.NotEqual(Enumerable.Range(0, 20), order); // the chance that 20 shuffled messages keep their order is 1 in 20!
        Assert.All(ids, id => Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State));
        Assert.Equal(EngineFixture.Start.Add(Release), fx.Clock.GetUtcNow());
    }

    [Fact]
    public async Task A_message_forwarded_at_once_does_not_wait_behind_a_held_one()
    {
        await using var fx = new EngineFixture();
        var peer = fx.Peers["b.test:7400"];
        fx.Engine.Start();
        var minute = TimeSpan.FromMinutes(1);
        var parked = fx.Clock.WhenTimerCreated(minute, minute);
        var held = await fx.SubmitAsync(1, batchMs: 60_000);
        await parked.Within();

        // The message forwarded at once goes, and the worker parks again for the held one's release.
        var parkedAgain = fx.Clock.WhenTimerCreated(minute, minute);
        var now = await fx.SubmitAsync(2);
        await fx.UntilToldAsync(1);
        await parkedAgain.Within();

        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.Told).State);
        Assert.Equal(now, Assert.Single(fx.Told).SendId);
        Assert.Equal(2, EngineFixture.Seed(Assert.Single(peer.Stored)));
        Assert.True(fx.Queue.TryGetStatus(held, out var status) && status.State == OutboundState.Queued);
    }

    [Fact]
    public async Task The_maximum_age_counts_from_the_queue_time_even_while_a_message_is_held()
    {
        await using var fx = new EngineFixture(o => o.MaxAge = TimeSpan.FromSeconds(10));
        fx.Engine.Start();
        fx.Clock.Advance(TimeSpan.FromSeconds(1));

        // Released at 60 s, too old at 11 s: the worker wakes for the maximum age, 10 s from now.
        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        var id = await fx.SubmitAsync(1, batchMs: 60_000);
        fx.Clock.Advance(await parked.Within());
        await fx.UntilToldAsync(1);

        Assert.Equal(new SendSettled(id, "rm-1", OutboundState.Failed, (ushort)ErrorCode.Undeliverable, 4), Assert.Single(fx.Told));
        Assert.Empty(fx.Peers["b.test:7400"].Stored);
        Assert.Equal(0, fx.Peers["b.test:7400"].ConnectAttempts);
    }

    [Fact]
    public async Task After_a_restart_a_held_message_still_waits_for_the_release_time_it_was_queued_with()
    {
        var place = new InMemoryOutboundQueue.Place();
        long id;
        await using (var before = new EngineFixture(place: place))
        {
            before.Engine.Start();
            before.Clock.Advance(TimeSpan.FromSeconds(12));
            var parked = before.Clock.WhenTimerCreated(TimeSpan.FromSeconds(18), TimeSpan.FromSeconds(18));
            id = await before.SubmitAsync(1, batchMs: Interval);
            await parked.Within();
        }

        // The new engine's clock starts at the interval's beginning again: the message is due 30 s from now.
        await using var after = new EngineFixture(place: place);
        var again = after.Clock.WhenTimerCreated(Release, Release);
        after.Engine.Start();
        await again.Within();
        after.Clock.Advance(Release - TimeSpan.FromMilliseconds(1));
        Assert.Empty(after.Peers["b.test:7400"].Stored);

        after.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await after.UntilToldAsync(1);
        Assert.Equal(id, Assert.Single(after.Told).SendId);
        Assert.Equal(1, EngineFixture.Seed(Assert.Single(after.Peers["b.test:7400"].Stored)));
    }

    [Fact]
    public async Task A_destination_down_at_the_release_gets_the_whole_release_when_it_returns()
    {
        await using var fx = new EngineFixture(o => o.InitialBackoff = TimeSpan.FromSeconds(1));
        var peer = fx.Peers["b.test:7400"];
        peer.Up = false;
        fx.Engine.Start();
        for (var i = 0; i < 5; i++)
        {
            await fx.SubmitAsync(i, batchMs: Interval);
        }

        await Eventually.TrueAsync(() => fx.Engine.HeldMessages == 5, () => $"{fx.Engine.HeldMessages} of 5 messages held");
        var backingOff = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        fx.Clock.Advance(Release);
        var wait = await backingOff.Within();
        Assert.Equal(0, fx.Engine.HeldMessages); // released, not sent: no longer waiting for a release time

        peer.Up = true;
        fx.Clock.Advance(wait);
        await fx.UntilToldAsync(5);
        Assert.Equal(Enumerable.Range(0, 5), peer.Stored.Select(EngineFixture.Seed).Order());
    }
}
