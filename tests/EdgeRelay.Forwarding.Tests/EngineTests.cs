using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>The forwarding engine against fake peers and a fake clock: delivery, refusals, back-off, maximum age, limits.</summary>
public sealed class EngineTests
{
    [Fact]
    public async Task Queued_messages_are_delivered_once_settled_and_their_sender_told()
    {
        await using var fx = new EngineFixture();
        fx.Engine.Start();
        var ids = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add(await fx.SubmitAsync(i));
        }

        await fx.UntilToldAsync(10);

        Assert.Equal(Enumerable.Range(0, 10), fx.Peers["b.test:7400"].Stored.Select(EngineFixture.Seed).Order());
        Assert.All(ids, id => Assert.Equal(new SendSettled(id, "rm-1", OutboundState.Delivered, 0, 4), Assert.Single(fx.ToldAbout(id))));
        Assert.All(ids, id => Assert.True(fx.Queue.TryGetStatus(id, out var s) && s.State == OutboundState.Delivered));
        Assert.Empty(fx.Queue.GetQueued());
        Assert.Equal(10, fx.Engine.Forwarded);
        Assert.Equal(0, fx.Engine.Retried);
    }

    [Fact]
    public async Task A_refusal_about_the_message_fails_it_at_once_with_the_receivers_code()
    {
        await using var fx = new EngineFixture();
        fx.Peers["b.test:7400"].Decide = c => EngineFixture.Seed(c) == 2 ? FakePeers.Peer.Refusal(ErrorCode.AddressUnknown) : null;
        fx.Engine.Start();
        var ids = new[] { await fx.SubmitAsync(1), await fx.SubmitAsync(2), await fx.SubmitAsync(3) };

        await fx.UntilToldAsync(3);

        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(ids[0])).State);
        Assert.Equal(new SendSettled(ids[1], "rm-1", OutboundState.Failed, (ushort)ErrorCode.AddressUnknown, 4), Assert.Single(fx.ToldAbout(ids[1])));
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(ids[2])).State);
        Assert.Equal(0, fx.Engine.Retried); // a permanent refusal is not retried
        Assert.Equal(1, fx.Engine.FailedByCode[(ushort)ErrorCode.AddressUnknown]);
    }

    [Fact]
    public async Task A_destination_that_is_down_is_retried_with_growing_back_off_until_it_returns()
    {
        await using var fx = new EngineFixture(o =>
        {
            o.InitialBackoff = TimeSpan.FromSeconds(1);
            o.MaxBackoff = TimeSpan.FromMinutes(5);
        });
        var peer = fx.Peers["b.test:7400"];
        peer.Up = false;
        fx.Engine.Start();

        var first = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        var id = await fx.SubmitAsync(7);
        var wait = await first.Within();

        var second = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        fx.Clock.Advance(wait);
        var secondWait = await second.Within();
        Assert.Equal(2, peer.ConnectAttempts);
        Assert.True(fx.Queue.TryGetStatus(id, out var status) && status.State == OutboundState.Queued);
        Assert.Empty(fx.Told);

        peer.Up = true;
        fx.Clock.Advance(secondWait);
        await fx.UntilToldAsync(1);

        Assert.Equal(7, EngineFixture.Seed(Assert.Single(peer.Stored)));
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State);
        Assert.Equal(2, fx.Engine.Retried);
    }

    [Fact]
    public async Task A_transient_refusal_is_retried_and_the_message_stored_once()
    {
        await using var fx = new EngineFixture();
        var peer = fx.Peers["b.test:7400"];
        var full = true;
        peer.Decide = _ => Volatile.Read(ref full) ? FakePeers.Peer.Refusal(ErrorCode.QuotaAddress) : null;
        fx.Engine.Start();

        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        var id = await fx.SubmitAsync(1);
        var wait = await parked.Within();
        Volatile.Write(ref full, false);
        fx.Clock.Advance(wait);
        await fx.UntilToldAsync(1);

        Assert.Single(peer.Stored);
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State);
        Assert.Equal(1, peer.ConnectAttempts); // the refusal kept the connection: it was not the connection's fault
    }

    [Fact]
    public async Task A_message_past_its_maximum_age_fails_as_undeliverable()
    {
        await using var fx = new EngineFixture(o => o.MaxAge = TimeSpan.FromHours(72));
        fx.Peers["b.test:7400"].Up = false;
        fx.Engine.Start();
        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        var id = await fx.SubmitAsync(1);
        await parked.Within();

        fx.Clock.Advance(TimeSpan.FromHours(72));
        await fx.UntilToldAsync(1);

        Assert.Equal(new SendSettled(id, "rm-1", OutboundState.Failed, (ushort)ErrorCode.Undeliverable, 4), Assert.Single(fx.Told));
        Assert.True(fx.Queue.TryGetStatus(id, out var status));
        Assert.Equal((OutboundState.Failed, (ushort)ErrorCode.Undeliverable), (status.State, status.Code));
        Assert.Empty(fx.Peers["b.test:7400"].Stored);
    }

    [Fact]
    public async Task The_maximum_age_cuts_a_back_off_short()
    {
        await using var fx = new EngineFixture(o =>
        {
            o.MaxAge = TimeSpan.FromSeconds(10);
            o.InitialBackoff = TimeSpan.FromMinutes(2);
        });
        fx.Peers["b.test:7400"].Up = false;
        fx.Engine.Start();

        // The back-off would be 1 to 2 minutes; the worker waits only until the message's age runs out.
        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10));
        var id = await fx.SubmitAsync(1);
        fx.Clock.Advance(await parked.Within());
        await fx.UntilToldAsync(1);

        Assert.Equal((ushort)ErrorCode.Undeliverable, Assert.Single(fx.ToldAbout(id)).Code);
    }

    [Fact]
    public async Task A_settle_the_store_fails_leaves_the_message_queued_and_it_is_sent_again()
    {
        await using var fx = new EngineFixture();
        fx.Flaky.FailNextSettles(1);
        fx.Engine.Start();

        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        var id = await fx.SubmitAsync(1);
        fx.Clock.Advance(await parked.Within());
        await fx.UntilToldAsync(1);

        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State);
        Assert.Equal([1, 1], fx.Peers["b.test:7400"].Stored.Select(EngineFixture.Seed)); // at least once: the first OK was not recorded
        Assert.Single(fx.Queue.Settles);
    }

    [Fact]
    public async Task Connections_to_one_destination_stay_within_the_bound_and_nothing_is_stored_twice()
    {
        await using var fx = new EngineFixture(o =>
        {
            o.MaxConnectionsPerDestination = 2;
            o.MaxInFlightPerDestination = 64;
        });
        fx.Engine.Start();
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => fx.SubmitAsync(i)));

        await fx.UntilToldAsync(1000);

        var peer = fx.Peers["b.test:7400"];
        Assert.InRange(peer.MaxOpen, 1, 2);
        Assert.Equal(Enumerable.Range(0, 1000), peer.Stored.Select(EngineFixture.Seed).Order());
    }

    [Fact]
    public async Task Destinations_are_independent_and_each_gets_its_pin()
    {
        await using var fx = new EngineFixture();
        fx.Peers["down.test:1"].Up = false;
        fx.Engine.Start();
        var pin = Enumerable.Repeat((byte)0xAB, 32).ToArray();

        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        await fx.SubmitAsync(1, "down.test:1");
        await parked.Within();
        var result = await fx.Engine.SubmitAsync(EngineFixture.Request(2, "tls.test:7400", pin: pin));
        await fx.UntilToldAsync(1);

        Assert.Equal(result.SendId, Assert.Single(fx.Told).SendId);
        Assert.Equal([Convert.ToHexString(pin)], fx.Peers["tls.test:7400"].Pins);
    }

    [Fact]
    public async Task After_a_restart_what_was_queued_is_forwarded()
    {
        var place = new InMemoryOutboundQueue.Place();
        var ids = new List<long>();
        await using (var before = new EngineFixture(place: place))
        {
            before.Peers["b.test:7400"].Up = false;
            before.Engine.Start();
            var parked = before.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
            for (var i = 0; i < 3; i++)
            {
                ids.Add(await before.SubmitAsync(i));
            }

            await parked.Within();
        }

        await using var after = new EngineFixture(place: place);
        after.Engine.Start();
        await after.UntilToldAsync(3);

        Assert.Equal(ids, after.Told.Select(t => t.SendId).Order());
        Assert.Equal([0, 1, 2], after.Peers["b.test:7400"].Stored.Select(EngineFixture.Seed).Order());
    }

    [Fact]
    public async Task A_full_queue_refuses_and_a_sender_over_its_quota_is_refused_alone()
    {
        await using var fx = new EngineFixture(limits: new OutboundLimits { MaxQueuedMessages = 2, MaxQueuedPerOwner = 1 });
        fx.Peers["b.test:7400"].Up = false;
        fx.Engine.Start();

        Assert.Equal(OutboundEnqueueStatus.Queued, (await fx.Engine.SubmitAsync(EngineFixture.Request(1, owner: "a"))).Status);
        Assert.Equal(OutboundEnqueueStatus.OwnerQuota, (await fx.Engine.SubmitAsync(EngineFixture.Request(2, owner: "a"))).Status);
        Assert.Equal(OutboundEnqueueStatus.Queued, (await fx.Engine.SubmitAsync(EngineFixture.Request(3, owner: "b"))).Status);
        Assert.Equal(OutboundEnqueueStatus.QueueFull, (await fx.Engine.SubmitAsync(EngineFixture.Request(4, owner: "c"))).Status);
        Assert.Equal(2, fx.Queue.GetQueued().Count);
    }

    [Theory]
    [InlineData(1, 500, 1000)]
    [InlineData(2, 1000, 2000)]
    [InlineData(4, 4000, 8000)]
    [InlineData(30, 150_000, 300_000)]
    public void Back_off_doubles_per_failure_up_to_its_cap_and_jitters_in_the_upper_half(int failures, int minMs, int maxMs)
    {
        var (min, max) = Backoff.Range(failures, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        Assert.Equal((TimeSpan.FromMilliseconds(minMs), TimeSpan.FromMilliseconds(maxMs)), (min, max));
        Assert.InRange(Backoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 0.5), min, max);
    }
}
