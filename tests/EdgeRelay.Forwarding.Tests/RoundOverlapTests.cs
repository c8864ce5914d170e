using EdgeRelay.Storage;
using EdgeRelay.Testing;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>A round's settle (its commit, then telling the senders) runs while the next round is sent, and never two at once.</summary>
public sealed class RoundOverlapTests
{
    [Fact]
    public async Task The_next_round_is_sent_while_the_last_rounds_settle_waits_for_its_commit()
    {
        HeldSettleQueue? held = null;
        await using var fx = new EngineFixture(
            o =>
            {
                o.MaxInFlightPerDestination = 2;
                o.MaxConnectionsPerDestination = 1;
            },
            wrap: q => held = new HeldSettleQueue(q));
        var peer = fx.Peers["b.test:7400"];
        fx.Engine.Start();
        try
        {
            var ids = new List<long>();
            for (var i = 0; i < 4; i++)
            {
                ids.Add(await fx.SubmitAsync(i));
            }

            // Rounds hold at most 2: the first round's settle is held, yet a later round reaches the peer.
            await Eventually.TrueAsync(
                () => held!.Batches.Length == 1 && peer.Stored.Count > held.Batches[0],
                () => $"a second round sent while the first settle is held (stored {peer.Stored.Count}, settles {string.Join(",", held!.Batches)})");
            Assert.Empty(fx.Told); // nobody is told before their settle is durable
            Assert.Single(held!.Batches); // the second round's settle waits for the first's

            held.Commit();
            await fx.UntilToldAsync(4);

            Assert.Equal(ids, fx.Told.Select(t => t.SendId).Order());
            Assert.All(ids, id => Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(id)).State));
            Assert.Equal([0, 1, 2, 3], peer.Stored.Select(EngineFixture.Seed).Order());
            Assert.Equal(4, held.Batches.Sum());
            Assert.Empty(fx.Queue.GetQueued());
        }
        finally
        {
            held!.Commit(); // a stop waits for the outstanding settle
        }
    }

    [Fact]
    public async Task A_message_that_arrives_while_an_idle_worker_waits_for_a_settle_is_sent_before_that_settle_ends()
    {
        HeldSettleQueue? held = null;
        await using var fx = new EngineFixture(o => o.MaxConnectionsPerDestination = 1, wrap: q => held = new HeldSettleQueue(q));
        var peer = fx.Peers["b.test:7400"];
        fx.Engine.Start();
        try
        {
            // A round of one, its settle held: the worker has nothing else to send and waits.
            await fx.SubmitAsync(0);
            await Eventually.TrueAsync(() => held!.Batches.Length == 1 && peer.Stored.Count == 1, () => $"stored {peer.Stored.Count}");

            await fx.SubmitAsync(1);

            await Eventually.TrueAsync(() => peer.Stored.Count == 2, () => $"the second message waited for the first one's settle (stored {peer.Stored.Count})");
            Assert.Single(held!.Batches);
            held.Commit();
            await fx.UntilToldAsync(2);
            Assert.All(fx.Told, t => Assert.Equal(OutboundState.Delivered, t.State));
        }
        finally
        {
            held!.Commit();
        }
    }

    [Fact]
    public async Task A_backlog_past_its_maximum_age_expires_even_while_newer_messages_are_being_sent()
    {
        await using var fx = new EngineFixture(o =>
        {
            o.MaxAge = TimeSpan.FromHours(1);
            o.MaxInFlightPerDestination = 1;
            o.MaxConnectionsPerDestination = 1;
        });
        var peer = fx.Peers["b.test:7400"];
        peer.Up = false;
        fx.Engine.Start();
        var parked = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
        var old = new[] { await fx.SubmitAsync(1), await fx.SubmitAsync(2) };
        await parked.Within();

        // Half an hour later a newer message joins the backlog; when the old ones' hour is up, they fail and it does not.
        fx.Clock.Advance(TimeSpan.FromMinutes(30));
        var young = await fx.SubmitAsync(3);
        fx.Clock.Advance(TimeSpan.FromMinutes(30));
        await fx.UntilToldAsync(2);

        Assert.Equal(old, fx.Told.Select(t => t.SendId).Order());
        Assert.All(fx.Told, t => Assert.Equal((OutboundState.Failed, (ushort)Protocol.ErrorCode.Undeliverable), (t.State, t.Code)));
        Assert.True(fx.Queue.TryGetStatus(young, out var status) && status.State == OutboundState.Queued);

        peer.Up = true;
        fx.Clock.Advance(TimeSpan.FromMinutes(10)); // past any back-off
        await fx.UntilToldAsync(3);
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(young)).State);
        Assert.Equal(3, EngineFixture.Seed(Assert.Single(peer.Stored)));
    }
}
