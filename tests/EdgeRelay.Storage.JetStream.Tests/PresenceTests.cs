using System.Buffers.Binary;
using System.Collections.Concurrent;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Push leases between stores (relay nodes) on the real cluster: exactly one node holds each; every new subscription
/// takes the lease from a live holder, older ones wait; a released lease passes on; a lease of a node that stopped
/// beating passes on after the others beat past the limit in stream order and not before, while the silent node stops
/// pushing by its own clock; time passing without beats kills no one; a dead node's heartbeats are purged; records of
/// a newer version are skipped. The clock is the backend's fake one, shared by the nodes: heartbeats beat only when a test steps it.
/// </summary>
public sealed class PresenceTests : PresenceNodes
{
    [SkippableFact]
    public async Task Of_two_nodes_racing_for_leases_exactly_one_holds_each_and_both_agree()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();

        // A node is told when its table shows it gaining or losing a lease: every holder was told.
        var told = new ConcurrentQueue<AddressId>();
        a.PushChanged = told.Enqueue;
        b.PushChanged = told.Enqueue;
        var aids = Enumerable.Range(0, 20).Select(_ => AddressId.NewRandom()).ToArray();
        await Task.WhenAll(aids.Select(aid => Task.Run(() => a.WantPush(aid))).Concat(aids.Select(aid => Task.Run(() => b.WantPush(aid)))));

        // Both first subscribers claim from what they saw; a claim based on the other's stored one takes it over once.
        await Eventually.TrueAsync(() => aids.All(aid => a.MayPush(aid) != b.MayPush(aid) && a.IsPushed(aid) && b.IsPushed(aid)), "one holder per lease, as both tables show");
        Assert.Equal(aids.Length, a.LeasesHeld + b.LeasesHeld);
        Assert.Equal(0, a.LeaseHandOvers + b.LeaseHandOvers);
        Assert.True(a.LeaseTakeOvers + b.LeaseTakeOvers <= aids.Length, "at most one take-over per lease: a take-over applied ends the other's intent");
        Assert.Equal(aids.Select(x => x.ToString()).Order(), told.Distinct().Select(x => x.ToString()).Order());
    }

    [SkippableFact]
    public async Task The_newest_subscriber_takes_the_lease_from_a_live_holder_which_stops_pushing_and_an_older_one_takes_it_only_once_released()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var toldA = new ConcurrentQueue<bool>();
        a.PushChanged = changed => toldA.Enqueue(a.MayPush(changed)); // what A's pump would find, looking again
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease, as both see");

        // The owner subscribes on B (its connection to A may be half-open): B takes the lease with no time passing.
        b.WantPush(aid);
        await Eventually.TrueAsync(() => b.MayPush(aid) && !a.MayPush(aid) && a.IsPushed(aid), "node B to take the lease, as both see");
        await Eventually.TrueAsync(() => toldA.Count >= 2 && !toldA.Last(), "node A to be told of the loss (its pump looks again and stops)");
        Assert.Equal((1L, 0L), (b.LeaseTakeOvers, b.LeaseHandOvers));

        // Back on A, beside the stale subscription there: the newest again, so A takes it back.
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && !b.MayPush(aid) && b.IsPushed(aid), "node A to take the lease back");
        Assert.Equal((1L, 0L), (a.LeaseTakeOvers, a.LeaseHandOvers));

        // B's older subscriber waits while A beats, however long it takes.
        var beats = (await Backend.OptionsAsync()).DeadAfterBeats;
        for (var i = 0; i <= beats; i++)
        {
            await StepAsync(a, b);
            Assert.True(a.MayPush(aid));
            Assert.False(b.MayPush(aid));
        }

        // A's subscribers leave: the released lease goes to B, which still has one.
        a.DropPush(aid);
        Assert.True(a.MayPush(aid)); // one left
        a.DropPush(aid);
        await Eventually.TrueAsync(() => b.MayPush(aid) && !a.MayPush(aid) && a.IsPushed(aid), "node B to take the released lease");
        Assert.Equal((1L, 0L), (b.LeaseTakeOvers, b.LeaseHandOvers));
    }

    [SkippableFact]
    public async Task A_subscription_that_follows_the_last_ones_end_on_the_same_node_keeps_the_lease_from_an_older_one_elsewhere()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        await SubscribeAsync(b, aid, a);
        await SubscribeAsync(a, aid, b); // the newest subscription: A takes the lease over

        // The owner resubscribes on A: the old subscription ends (its release is on its way) and a new one starts at
        // once. The new one is the newest: B's older subscriber, which the release would let in, must not keep it.
        a.DropPush(aid);
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && !b.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease again");
        var beats = (await Backend.OptionsAsync()).DeadAfterBeats;
        for (var i = 0; i <= beats; i++)
        {
            await StepAsync(a, b);
            Assert.True(a.MayPush(aid));
            Assert.False(b.MayPush(aid));
        }
    }

    [SkippableFact]
    public async Task A_silent_holder_stops_pushing_by_its_clock_and_its_lease_passes_on_once_the_others_beat_past_the_limit_and_not_before()
    {
        var (a, connectionA) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        await SubscribeAsync(b, aid, a);
        await SubscribeAsync(a, aid, b); // the newest subscription: A takes the lease over

        // Node A is cut off (a crash as the cluster sees it): no release, no parting beat, only silence. Until the node
        // timeout A still pushes (its newest beat is younger by its clock) and B does not take over.
        await connectionA.DisposeAsync();
        var options = await Backend.OptionsAsync();
        var steps = (int)(options.NodeTimeout / options.HeartbeatInterval);
        for (var i = 1; i < steps; i++)
        {
            await StepAsync(b);
            Assert.False(b.MayPush(aid));
            Assert.True(b.IsPushed(aid));
            Assert.True(a.MayPush(aid));
        }

        // At the timeout A stops by its own clock; B counts A dead one beat later (more own beats than the timeout
        // holds, and as long again on its own clock): never both push, and neither for one beat.
        await StepAsync(b);
        Assert.False(a.MayPush(aid));
        Assert.True(b.IsPushed(aid));
        Assert.False(b.MayPush(aid));
        await StepAsync(b);
        await Eventually.TrueAsync(() => b.MayPush(aid), "node B to take the dead node's lease");
        Assert.Equal((1L, 0L), (b.LeaseHandOvers, b.LeaseTakeOvers));
    }

    [SkippableFact]
    public async Task A_node_that_stops_cleanly_hands_its_leases_over_at_once()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        await SubscribeAsync(b, aid, a);
        await SubscribeAsync(a, aid, b); // the newest subscription: A takes the lease over

        // A's parting beat says it left: B takes the lease with no time passing (the clock stands still).
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => b.MayPush(aid), "node B to take the lease");
        Assert.Equal(1, b.LeaseHandOvers);
    }

    [SkippableFact]
    public async Task Neither_a_clock_running_ahead_nor_time_passing_without_beats_in_the_stream_kills_a_live_node()
    {
        var clockA = new FakeTimeProvider(Backend.Time.GetUtcNow());
        var (a, _) = await OpenAsync(clockA);
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        await SubscribeAsync(b, aid, a);
        await SubscribeAsync(a, aid, b); // the newest subscription: A takes the lease over

        // B's clock runs a minute ahead of A's, or the stream was out for a minute and B beats first: by B's clock A's
        // newest beat is long dead. Counted in stream order, A has missed no beat of B's, so the lease stays with A.
        var options = await Backend.OptionsAsync();
        await AdvanceAsync(Backend.Time, TimeSpan.FromMinutes(1), b);
        Assert.False(b.MayPush(aid));
        for (var i = 0; i < options.DeadAfterBeats; i++)
        {
            await AdvanceAsync(clockA, options.HeartbeatInterval, a);
            await AdvanceAsync(Backend.Time, options.HeartbeatInterval, b);
            Assert.False(b.MayPush(aid));
            Assert.True(a.MayPush(aid));
        }

        Assert.Equal(0, b.LeaseHandOvers + b.LeaseTakeOvers);
    }

    [SkippableFact]
    public async Task The_heartbeats_of_a_node_gone_for_good_are_purged_from_the_stream_and_not_before()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var (c, connectionC) = await OpenAsync();
        var options = await Backend.OptionsAsync();
        await using var raw = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var stream = await new NatsJSContext(raw).GetStreamAsync(options.PresenceStream);
        async Task<bool> HasBeatsAsync(JetStreamStorage node)
        {
            // A subject with no message is answered with an empty 404 message, not an exception.
            var last = await stream.GetDirectAsync<byte[]>(new StreamMsgGetRequest { LastBySubj = options.NodeSubject(node.NodeId) });
            return last.Data is { Length: > 0 };
        }

        // A leaves cleanly: its subject goes once B has beaten past the limit. C crashes: its subject goes only ten
        // limits later, as it might just be cut off for a while.
        await a.DisposeAsync();
        await connectionC.DisposeAsync();
        for (var i = 1; i < options.DeadAfterBeats; i++)
        {
            await StepAsync(b);
        }

        Assert.True(await HasBeatsAsync(a));
        await StepAsync(b);

        await Eventually.TrueAsync(async () => !await HasBeatsAsync(a), "node A's heartbeats to be purged");
        Assert.True(await HasBeatsAsync(c));
        for (var i = options.DeadAfterBeats; i < 10 * options.DeadAfterBeats; i++)
        {
            await StepAsync(b);
        }

        await Eventually.TrueAsync(async () => !await HasBeatsAsync(c), "node C's heartbeats to be purged");
    }

    [SkippableFact]
    public async Task Records_of_a_newer_version_are_skipped_and_every_node_goes_on_following_the_stream()
    {
        var (a, _) = await OpenAsync();
        var options = await Backend.OptionsAsync();
        await using var raw = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var js = new NatsJSContext(raw);
        var unknown = new byte[1 + 8 + AddressId.Length + 8 + 8 + 4];
        unknown[0] = 99;
        await js.PublishAsync(options.NodeSubject(7), unknown);
        await js.PublishAsync(options.NodeSubject(8), new byte[] { (byte)PresenceKind.Lease, 1 });

        // A node that was following, and one that reads them while it opens, both go on: leases still work.
        var (late, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && late.IsPushed(aid), "node A to hold a lease, as the late node sees");
    }

    [SkippableFact]
    public async Task A_claim_stored_beside_the_one_in_force_is_ignored_by_every_node_and_the_holder_writes_its_lease_again()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease");

        // What nats-server before 2.9.21 could let through (issue 4320): a second claim based on the same record as
        // the one in force, stored after it. Here a node that never beat claims from "no record yet".
        var options = await Backend.OptionsAsync();
        var subject = options.LeaseSubject(aid);
        await using var raw = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var js = new NatsJSContext(raw);
        var stale = new byte[1 + 8 + AddressId.Length + 8 + 8];
        stale[0] = (byte)PresenceKind.Lease;
        BinaryPrimitives.WriteInt64LittleEndian(stale.AsSpan(1), 42);
        aid.Write(stale.AsSpan(9));
        var staleSeq = (await js.PublishAsync(subject, stale)).Seq;

        // The holder writes its lease again over it, based on it; every node, and one that starts later, sees A hold it.
        var stream = await js.GetStreamAsync(options.PresenceStream);
        await Eventually.TrueAsync(
            async () =>
            {
                var last = await stream.GetDirectAsync<byte[]>(new StreamMsgGetRequest { LastBySubj = subject });
                return last.Data is { } data && BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(17 + AddressId.Length)) == staleSeq;
            },
            "node A to write its lease again");
        // Node 42 never beat, so a table naming it as the holder would show nobody live pushing.
        var (late, _) = await OpenAsync();
        foreach (var node in new[] { a, b, late })
        {
            await Eventually.TrueAsync(() => node.IsPushed(aid), "every node to see a live holder");
        }

        Assert.True(a.MayPush(aid));
    }
}
