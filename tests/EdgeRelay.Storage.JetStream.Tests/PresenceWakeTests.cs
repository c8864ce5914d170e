using System.Collections.Concurrent;
using EdgeRelay.Storage;
using EdgeRelay.Testing;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Wake-ups between stores (relay nodes) on the real cluster: one node per burst wakes, the owner's return on any node
/// opens the next burst, and when a holder dies the addresses nobody took over are told lost, to every node that saw
/// it die, two beats after the death and only those. The clock is the backend's fake one, shared by the nodes.
/// </summary>
public sealed class PresenceWakeTests : PresenceNodes
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Of_two_nodes_claiming_a_wakeup_one_wins_the_burst_and_after_the_quiet_period_one_wins_again()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();

        var first = await Task.WhenAll(Task.Run(() => a.ClaimWakeAsync(aid, Quiet).AsTask()), Task.Run(() => b.ClaimWakeAsync(aid, Quiet).AsTask()));
        Assert.Single(first, won => won);

        // Later in the burst, once both tables show the mark: neither wakes again.
        await Eventually.TrueAsync(async () => !await a.ClaimWakeAsync(aid, Quiet) && !await b.ClaimWakeAsync(aid, Quiet), "both nodes to see the mark");
        Backend.Time.Advance(Quiet - TimeSpan.FromSeconds(1));
        Assert.False(await b.ClaimWakeAsync(aid, Quiet));
        Assert.False(await a.ClaimWakeAsync(aid, Quiet));

        var lost = a.WakeClaimsLost + b.WakeClaimsLost;
        Backend.Time.Advance(TimeSpan.FromSeconds(1));
        var next = await Task.WhenAll(Task.Run(() => a.ClaimWakeAsync(aid, Quiet).AsTask()), Task.Run(() => b.ClaimWakeAsync(aid, Quiet).AsTask()));
        Assert.Single(next, won => won);
        Assert.Equal(lost + 1, a.WakeClaimsLost + b.WakeClaimsLost);
    }

    [SkippableFact]
    public async Task Once_the_owner_was_back_on_any_node_the_next_burst_wakes_it_at_once()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        Assert.True(await a.ClaimWakeAsync(aid, Quiet));
        await Eventually.TrueAsync(async () => !await b.ClaimWakeAsync(aid, Quiet), "node B to see the mark");

        // The owner pulls on node B: the mark is cleared for every node, inside the quiet period.
        b.OwnerActive(aid);
        await Eventually.TrueAsync(async () => await a.ClaimWakeAsync(aid, Quiet), "node A to wake the owner again");
    }

    [SkippableFact]
    public async Task When_a_holder_dies_the_addresses_nobody_takes_over_are_told_lost_to_every_node_two_beats_later()
    {
        var (a, connectionA) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var (c, _) = await OpenAsync();
        var lostB = new ConcurrentQueue<AddressId>();
        var lostC = new ConcurrentQueue<AddressId>();
        b.PushLost = lostB.Enqueue;
        c.PushLost = lostC.Enqueue;

        // A pushes two addresses: one only A's subscriber wants, one that C's older subscriber waits for.
        var alone = AddressId.NewRandom();
        var waited = AddressId.NewRandom();
        a.WantPush(alone);
        c.WantPush(waited);
        await Eventually.TrueAsync(() => a.MayPush(alone) && c.MayPush(waited), "A and C to hold their leases");
        a.WantPush(waited);
        await Eventually.TrueAsync(() => a.MayPush(waited) && !c.MayPush(waited) && b.IsPushed(alone) && b.IsPushed(waited) && c.IsPushed(alone), "A to take the second over, as all see");

        // A beats once more, seen by all: a death counts only for a node seen live after one's own first beat (a
        // starting node leaves the history it reads to the nodes that saw it).
        await StepAsync(a, b, c);

        // A dies. The review that finds A dead (the node timeout and one beat later) tells nothing: C takes the address
        // it waits for, and for the other, a node with a subscriber might too.
        await connectionA.DisposeAsync();
        var options = await Backend.OptionsAsync();
        for (var i = 0; i < options.DeadAfterBeats; i++)
        {
            Assert.True(b.IsPushed(alone));
            await StepAsync(b, c);
        }

        await Eventually.TrueAsync(() => c.MayPush(waited), "C to take the lease it waited for");
        Assert.False(b.IsPushed(alone));
        await StepAsync(b, c);
        Assert.Empty(lostB);
        Assert.Empty(lostC);

        // Two beats after the death: the address nobody took is lost, told once to each node; the one C took is not.
        await StepAsync(b, c);
        Assert.Equal([alone], lostB);
        Assert.Equal([alone], lostC);
        await StepAsync(b, c);
        Assert.Single(lostB);
    }

    [SkippableFact]
    public async Task A_node_leaving_cleanly_has_its_unserved_leases_told_lost_only_at_a_later_beat_and_a_hub_that_throws_does_not_stop_the_store()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        await StepAsync(a, b);
        var told = new ConcurrentQueue<AddressId>();
        b.PushLost = aid =>
        {
            told.Enqueue(aid);
            throw new InvalidOperationException("a hub that fails");
        };
        b.PushChanged = _ => throw new InvalidOperationException("a hub that fails");
        var alone = AddressId.NewRandom();
        a.WantPush(alone);
        await Eventually.TrueAsync(() => a.MayPush(alone) && b.IsPushed(alone), "A to hold the lease");

        // A's parting beat makes B look at once (its leases pass on), but tells nothing lost: a node that wants the
        // lease may not have applied the parting beat yet. Two of B's own beats later, it does.
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => !b.IsPushed(alone), "B to see A gone");
        await StepAsync(b);
        Assert.Empty(told);
        await StepAsync(b);
        Assert.Equal([alone], told);

        // B loses a lease to a newer subscriber: the follower tells the hub, which throws. That was logged, not let
        // into the follower (which would fail the store) or the beat: B goes on.
        var (c, _) = await OpenAsync();
        var other = AddressId.NewRandom();
        b.WantPush(other);
        await Eventually.TrueAsync(() => b.MayPush(other), "B to take a lease");
        c.WantPush(other);
        await Eventually.TrueAsync(() => c.MayPush(other) && !b.MayPush(other) && b.IsPushed(other), "C to take it over, as B sees");
        var again = AddressId.NewRandom();
        b.WantPush(again);
        await Eventually.TrueAsync(() => b.MayPush(again), "B to take another lease");
        await b.FlushAsync();
    }

    [SkippableFact]
    public async Task A_node_that_started_after_a_holder_died_tells_lost_only_the_addresses_it_answered_for()
    {
        var (a, connectionA) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var asked = AddressId.NewRandom();
        var unasked = AddressId.NewRandom();
        a.WantPush(asked);
        a.WantPush(unasked);
        await StepAsync(a, b);
        await Eventually.TrueAsync(() => a.MayPush(asked) && a.MayPush(unasked) && b.IsPushed(asked) && b.IsPushed(unasked), "A to hold both leases");

        // A dies; C starts while A still reads live from the history C reads. A SEND for one address asks C, which
        // says "pushed" (no wake-up): once A is dead, C must tell that address lost itself, and only that one.
        await connectionA.DisposeAsync();
        var (c, _) = await OpenAsync();
        var lostB = new ConcurrentQueue<AddressId>();
        var lostC = new ConcurrentQueue<AddressId>();
        b.PushLost = lostB.Enqueue;
        c.PushLost = lostC.Enqueue;
        Assert.True(c.IsPushed(asked));
        var options = await Backend.OptionsAsync();
        for (var i = 0; i < options.DeadAfterBeats + 3 && (lostC.IsEmpty || lostB.Count < 2); i++)
        {
            await StepAsync(b, c);
        }

        Assert.Equal([asked], lostC);
        Assert.Equal([asked, unasked], lostB.OrderBy(x => x == asked ? 0 : 1));
    }
}
