using System.Collections.Concurrent;
using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>
/// The engine over a queue several nodes share (IOutboundDispatch): it forwards only what this node forwards, takes
/// what it adopts from a dead node once, and a settle by another node stops its forwarding and is told here.
/// </summary>
public sealed class SharedQueueTests
{
    private const string Peer = "b.test:7400";

    [Fact]
    public async Task At_start_only_this_nodes_messages_are_forwarded_and_counted_and_the_others_stay_queued()
    {
        SharedQueue shared = null!;
        await using var fx = new EngineFixture(wrap: q => shared = new SharedQueue(q));
        var taken = new ConcurrentQueue<long>();
        fx.Engine.Taken = messages => Array.ForEach([.. messages], m => taken.Enqueue(m.SendId));
        var mine = new List<long>();
        var others = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            if (i % 2 == 0)
            {
                var result = await fx.Queue.EnqueueAsync(EngineFixture.Request(i));
                await fx.Queue.WaitDurableAsync(result.Ticket);
                mine.Add(result.SendId);
            }
            else
            {
                others.Add((await shared.EnqueueElsewhereAsync(EngineFixture.Request(i))).SendId);
            }
        }

        fx.Engine.Start();
        await fx.UntilToldAsync(3);

        Assert.Equal([0, 2, 4], fx.Peers[Peer].Stored.Select(EngineFixture.Seed).Order());
        Assert.Equal(mine, taken.Order());
        Assert.Equal(others, fx.Queue.GetQueued().Select(m => m.SendId));
        Assert.All(fx.Told, s => Assert.True(s.CountedHere));
    }

    [Fact]
    public async Task Messages_adopted_from_a_dead_node_are_forwarded_and_counted_once_however_often_told()
    {
        SharedQueue shared = null!;
        await using var fx = new EngineFixture(wrap: q => shared = new SharedQueue(q));
        var taken = new ConcurrentQueue<long>();
        fx.Engine.Taken = messages => Array.ForEach([.. messages], m => taken.Enqueue(m.SendId));
        var peer = fx.Peers[Peer];
        peer.Up = false; // nothing leaves until every adoption was told
        var others = new List<OutboundMessage>();
        for (var i = 0; i < 3; i++)
        {
            others.Add(await shared.EnqueueElsewhereAsync(EngineFixture.Request(i)));
        }

        fx.Engine.Start();
        Assert.Empty(taken);

        var backOff = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), fx.Options.InitialBackoff); // the first back-off, jittered
        shared.AdoptAll();
        shared.Adopted!(others); // told again, as a late record of the dead node would be
        var wait = await backOff;
        peer.Up = true;
        fx.Clock.Advance(wait);
        await fx.UntilToldAsync(3);

        Assert.Equal([0, 1, 2], peer.Stored.Select(EngineFixture.Seed).Order());
        Assert.Equal(others.Select(m => m.SendId), taken.Order());
        Assert.Equal(3, fx.Engine.Adopted);
        Assert.All(fx.Told, s => Assert.True(s.CountedHere));
    }

    [Fact]
    public async Task A_settle_by_another_node_stops_this_nodes_forwarding_and_releases_only_what_this_node_counted()
    {
        SharedQueue shared = null!;
        await using var fx = new EngineFixture(wrap: q => shared = new SharedQueue(q));
        var peer = fx.Peers[Peer];
        peer.Up = false;
        fx.Engine.Start();
        var backOff = fx.Clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), fx.Options.InitialBackoff);
        var mine = await fx.SubmitAsync(1);
        var wait = await backOff; // tried once, backing off: it waits in the worker
        var other = (await shared.EnqueueElsewhereAsync(EngineFixture.Request(2))).SendId;

        // A node that judged this one dead adopted and delivered both; its settles are in force here.
        await shared.SettleElsewhereAsync(mine, OutboundState.Delivered);
        await shared.SettleElsewhereAsync(other, OutboundState.Failed, 0x0302);

        Assert.Equal(new SendSettled(mine, "rm-1", OutboundState.Delivered, 0, 4, CountedHere: true), Assert.Single(fx.ToldAbout(mine)));
        Assert.Equal(new SendSettled(other, "rm-1", OutboundState.Failed, 0x0302, 4, CountedHere: false), Assert.Single(fx.ToldAbout(other)));

        // The next round after the back-off holds only a message queued since: the settled one is not sent again.
        var next = await fx.SubmitAsync(3);
        peer.Up = true;
        fx.Clock.Advance(wait);
        await fx.UntilToldAsync(3);
        Assert.Equal(3, EngineFixture.Seed(Assert.Single(peer.Stored)));
        Assert.Equal(OutboundState.Delivered, Assert.Single(fx.ToldAbout(next)).State);
        Assert.Single(fx.ToldAbout(mine));
    }
}
