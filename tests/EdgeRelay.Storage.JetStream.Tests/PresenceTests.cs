using EdgeRelay.Storage;
using EdgeRelay.Testing;
using NATS.Client.Core;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Push leases and wake-up marks between two stores (two relay nodes) on the real cluster: exactly one node wins a
/// race, a released lease passes on, a lease of a node that stopped beating passes on after the node timeout and not
/// before, and one node per burst wakes. The clock is the backend's fake one, shared by both nodes: heartbeats beat
/// and age only when the test advances it.
/// </summary>
public sealed class PresenceTests : IAsyncLifetime
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(60);
    private readonly JetStreamBackend _backend = new();
    private readonly List<(JetStreamStorage Store, NatsConnection Connection)> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (store, connection) in _nodes)
        {
            await store.DisposeAsync();
            await connection.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    [SkippableFact]
    public async Task Of_two_nodes_racing_for_leases_exactly_one_holds_each_and_both_agree()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();

        // A node is told when its table shows it holding a lease: a loser whose record was stored too would be told.
        var gained = new System.Collections.Concurrent.ConcurrentQueue<AddressId>();
        a.PushChanged = gained.Enqueue;
        b.PushChanged = gained.Enqueue;
        var aids = Enumerable.Range(0, 20).Select(_ => AddressId.NewRandom()).ToArray();
        await Task.WhenAll(aids.Select(aid => Task.Run(() => a.WantPush(aid))).Concat(aids.Select(aid => Task.Run(() => b.WantPush(aid)))));

        await Eventually.TrueAsync(() => aids.All(aid => a.MayPush(aid) || b.MayPush(aid)), "every lease to be taken");
        foreach (var aid in aids)
        {
            Assert.False(a.MayPush(aid) && b.MayPush(aid), $"both nodes push {aid}");
            await Eventually.TrueAsync(() => a.IsPushed(aid) && b.IsPushed(aid), "both tables to show the holder");
        }

        Assert.Equal(aids.Length, a.LeasesHeld + b.LeasesHeld);
        Assert.Equal(0, a.LeaseHandOvers + b.LeaseHandOvers);
        Assert.Equal(aids.Select(x => x.ToString()).Order(), gained.Select(x => x.ToString()).Order());
    }

    [SkippableFact]
    public async Task A_released_lease_passes_to_the_node_waiting_for_it_and_the_releasing_node_stops_pushing()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var gained = new List<AddressId>();
        b.PushChanged = aid =>
        {
            lock (gained)
            {
                gained.Add(aid);
            }
        };
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease, as both see");
        b.WantPush(aid);
        Assert.False(b.MayPush(aid));

        // A's last subscriber leaves: B takes the lease, and is told so (its pump looks again).
        a.DropPush(aid);
        await Eventually.TrueAsync(() => b.MayPush(aid), "node B to take the released lease");
        Assert.False(a.MayPush(aid));
        lock (gained)
        {
            Assert.Contains(aid, gained);
        }

        Assert.Equal(0, b.LeaseHandOvers);
    }

    [SkippableFact]
    public async Task The_lease_of_a_node_that_stopped_beating_passes_on_after_the_node_timeout_and_not_before()
    {
        var (a, connectionA) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease");
        b.WantPush(aid);

        // Node A is cut off (a crash as the cluster sees it): no release, no parting beat, only silence.
        await connectionA.DisposeAsync();
        var timeout = (await _backend.OptionsAsync()).NodeTimeout;
        var interval = (await _backend.OptionsAsync()).HeartbeatInterval;

        // One beat short of the timeout, B has beaten and looked at the table: A is still live to it.
        await AdvanceAsync(b, timeout - interval);
        Assert.False(b.MayPush(aid));
        Assert.True(b.IsPushed(aid));

        await AdvanceAsync(b, interval);
        await Eventually.TrueAsync(() => b.MayPush(aid), "node B to take the dead node's lease");
        Assert.Equal(1, b.LeaseHandOvers);
    }

    [SkippableFact]
    public async Task A_node_that_stops_cleanly_hands_its_leases_over_at_once()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease");
        b.WantPush(aid);

        // A's parting beat says it left: B takes the lease with no time passing (the clock stands still).
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => b.MayPush(aid), "node B to take the lease");
        Assert.Equal(1, b.LeaseHandOvers);
    }

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
        _backend.Time.Advance(Quiet - TimeSpan.FromSeconds(1));
        Assert.False(await b.ClaimWakeAsync(aid, Quiet));
        Assert.False(await a.ClaimWakeAsync(aid, Quiet));

        _backend.Time.Advance(TimeSpan.FromSeconds(1));
        var next = await Task.WhenAll(Task.Run(() => a.ClaimWakeAsync(aid, Quiet).AsTask()), Task.Run(() => b.ClaimWakeAsync(aid, Quiet).AsTask()));
        Assert.Single(next, won => won);
        Assert.True(a.WakeClaimsLost + b.WakeClaimsLost >= 2);
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
    public async Task A_claim_stored_beside_the_one_in_force_is_ignored_by_every_node_and_the_holder_writes_its_lease_again()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var aid = AddressId.NewRandom();
        a.WantPush(aid);
        await Eventually.TrueAsync(() => a.MayPush(aid) && b.IsPushed(aid), "node A to hold the lease");

        // What nats-server before 2.9.21 could let through (issue 4320): a second claim based on the same record as
        // the one in force, stored after it. Here a node that never beat claims from "no record yet".
        var options = await _backend.OptionsAsync();
        var subject = options.LeaseSubject(aid);
        await using var raw = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var js = new NATS.Client.JetStream.NatsJSContext(raw);
        var stale = new byte[1 + 8 + AddressId.Length + 8 + 8];
        stale[0] = (byte)PresenceKind.Lease;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(stale.AsSpan(1), 42);
        aid.Write(stale.AsSpan(9));
        var staleSeq = (await js.PublishAsync(subject, stale)).Seq;

        // The holder writes its lease again over it, based on it; every node, and one that starts later, sees A hold it.
        var stream = await js.GetStreamAsync(options.PresenceStream);
        await Eventually.TrueAsync(
            async () =>
            {
                var last = await stream.GetDirectAsync<byte[]>(new NATS.Client.JetStream.Models.StreamMsgGetRequest { LastBySubj = subject });
                return last.Data is { } data && System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(17 + AddressId.Length)) == staleSeq;
            },
            "node A to write its lease again");
        var (late, _) = await OpenAsync();
        foreach (var node in new[] { a, b, late })
        {
            await Eventually.TrueAsync(() => node.IsPushed(aid), "every node to see a live holder");
        }

        Assert.True(a.MayPush(aid));
        late.WantPush(aid);
        Assert.False(late.MayPush(aid));
    }

    private async Task<(JetStreamStorage Store, NatsConnection Connection)> OpenAsync()
    {
        var options = await _backend.OptionsAsync();
        var connection = new NatsConnection(JetStreamStorage.ConnectionOptions(options));
        var store = await JetStreamStorage.OpenAsync(options, _backend.Time, connection: connection);
        _nodes.Add((store, connection));
        return (store, connection);
    }

    /// <summary>Moves the shared clock on, then waits until <paramref name="node"/> has beaten at the new time and looked at its table.</summary>
    private async Task AdvanceAsync(JetStreamStorage node, TimeSpan by)
    {
        _backend.Time.Advance(by);
        var ticks = node.HeartbeatTicks;
        await Eventually.TrueAsync(() => node.BeatenUpTo >= ticks, "a heartbeat at the new time");
    }
}
