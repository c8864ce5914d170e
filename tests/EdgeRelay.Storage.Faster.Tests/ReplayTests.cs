using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// What a crash leaves is rebuilt from the log alone. A clean close writes a snapshot covering the whole log,
/// so these tests copy the files as they are while the store runs (<see cref="TestStore.CrashAsync"/>): the
/// records after the last snapshot can only come back by being replayed.
/// </summary>
public sealed class ReplayTests
{
    private static readonly DeliveryPolicy Batched = new(DeliveryPolicyKind.Batched, 250);

    private static void SmallSegments(FasterStorageOptions o)
    {
        o.PageSizeBits = 16;
        o.MemorySizeBits = 18;
        o.SegmentSizeBits = 20; // 1 MiB files: a few MB of traffic leaves an old part to compact
    }

    /// <param name="snapshotFirst">Whether a snapshot was written before the changes, so that the first change
    /// lands right at its covered address, or there is none at all.</param>
    /// <param name="first">Which change is the first record after it.</param>
    [Theory]
    [InlineData(true, 0)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(true, 3)]
    [InlineData(true, 4)]
    [InlineData(false, 0)]
    public async Task Address_changes_after_the_last_snapshot_come_back_from_the_log_after_a_crash(bool snapshotFirst, int first)
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var store = await OpenAsync(dir, time);
        var changed = await CreateAddressAsync(store, time);
        var revoked = await CreateAddressAsync(store, time, seed: 2);
        var created = AddressId.NewRandom();
        var pending = Append(store, changed, Payload(1, 100));
        await CommitAllAsync(store);
        if (snapshotFirst)
        {
            // Restarted, then a maintenance pass at once: its snapshot covers the log up to the recovered tail,
            // and with the head already at the pending message it neither truncates nor commits, so nothing
            // (no commit record) lies between the covered address and the next record.
            await store.DisposeAsync();
            store = await OpenAsync(dir, time);
            await store.RunMaintenanceAsync();
        }

        time.Advance(TimeSpan.FromMinutes(1));
        var revokedAt = time.GetUtcNow().ToUnixTimeSeconds();
        Func<Task<DurabilityTicket>>[] changes =
        [
            async () => (await store.RenewAsync(changed, now + 5000)).Ticket,
            async () => (await store.SetPolicyAsync(changed, Batched)).Ticket,
            async () => (await store.SetNotifyEndpointAsync(changed, "https://push.example/up/changed")).Ticket,
            async () => (await store.RevokeAsync(revoked)).Ticket,
            async () => await store.CreateAddressAsync(created, Key(3), now + 7000),
        ];
        var tickets = new List<DurabilityTicket>();
        for (var i = 0; i < changes.Length; i++)
        {
            tickets.Add(await changes[(first + i) % changes.Length]());
        }

        if (snapshotFirst)
        {
            // The boundary case: the snapshot covers everything below this record, and nothing at it.
            Assert.True(AddressSnapshot.TryRead(dir.Path, out var covered, out _));
            Assert.Equal(covered, tickets[0].Position);
        }

        await store.WaitForCommitAsync(tickets.Max(), Timeout());
        using var crashed = await CrashAsync(store, dir);

        await using (store = await OpenAsync(crashed, time))
        {
            Assert.True(store.TryGetAddress(changed, out var info));
            Assert.Equal(now + 5000, info.ExpiresAt);
            Assert.Equal(Batched, info.Policy);
            Assert.Equal("https://push.example/up/changed", info.NotifyEndpoint);
            Assert.False(info.IsRevoked);

            Assert.True(store.TryGetAddress(revoked, out var revokedInfo));
            Assert.True(revokedInfo.IsRevoked);
            Assert.Equal(revokedAt, revokedInfo.RevokedAt);
            Assert.Equal(DeliveryPolicy.Immediate, revokedInfo.Policy);

            Assert.True(store.TryGetAddress(created, out var createdInfo));
            Assert.Equal(Key(3), createdInfo.OwnerPublicKey.ToArray());
            Assert.Equal(now + 7000, createdInfo.ExpiresAt);
            Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds(), createdInfo.CreatedAt);

            Assert.Equal(3, store.GetStatistics().Addresses);
            Assert.Equal([pending], PendingIds(store, changed));
        }
    }

    [Fact]
    public async Task Changes_already_in_the_snapshot_are_not_undone_by_older_records_replayed_after_a_crash()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        Append(store, aid, Payload(1, 100)); // pins the head: the old records stay in the log, below the snapshot
        await store.WaitForCommitAsync((await store.SetPolicyAsync(aid, DeliveryPolicy.PullOnly)).Ticket, Timeout());
        await store.WaitForCommitAsync((await store.SetNotifyEndpointAsync(aid, "https://push.example/old")).Ticket, Timeout());
        await store.WaitForCommitAsync((await store.RenewAsync(aid, now + 100)).Ticket, Timeout());
        await store.RunMaintenanceAsync();
        using var crashed = await CrashAsync(store, dir);

        await using (store = await OpenAsync(crashed, time))
        {
            Assert.True(store.TryGetAddress(aid, out var info));
            Assert.Equal(DeliveryPolicy.PullOnly, info.Policy);
            Assert.Equal("https://push.example/old", info.NotifyEndpoint);
            Assert.Equal(now + 100, info.ExpiresAt);
            Assert.Equal(1, store.GetStatistics().Addresses);
        }
    }

    [Fact]
    public async Task Messages_copied_forward_by_compaction_come_back_once_under_their_ids_after_a_crash()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var store = await OpenAsync(dir, time, SmallSegments);
        var forgotten = await CreateAddressAsync(store, time);
        var busy = await CreateAddressAsync(store, time, seed: 2);
        var keptPayload = Payload(7, 300);
        var ackedLater = Append(store, forgotten, Payload(6, 200));
        var kept = Append(store, forgotten, keptPayload);

        // Enough traffic, all consumed, that the two old messages are what little is live in the old part.
        for (var round = 0; round < 5; round++)
        {
            var ids = new long[500];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = await AppendAsync(store, busy, Payload(i, 1000));
            }

            await CommitAllAsync(store);
            Assert.Equal(AckStatus.Acked, (await store.AckAsync(busy, ids)).Status);
        }

        await CommitAllAsync(store);
        await store.RunMaintenanceAsync();
        Assert.Equal(2, store.GetStatistics().MessagesMoved);

        // FASTER deletes the segments below the new head on its own thread; the copy below must not race it.
        var headSegment = store.GetStatistics().LogBeginAddress >> 20;
        Assert.True(headSegment >= 1, $"the head is in segment {headSegment}: the originals were not truncated");
        await Eventually.TrueAsync(
            () => dir.SegmentFiles().All(f => SegmentIndex(f) >= headSegment),
            () => $"the segments below {headSegment} to be deleted");

        // Acked after its copy: the ack follows the copy in the log, so replay must drop it again.
        var ack = await store.AckAsync(forgotten, ackedLater);
        Assert.Equal(AckStatus.Acked, ack.Status);
        await store.WaitForCommitAsync(ack.Ticket, Timeout());
        using var crashed = await CrashAsync(store, dir);

        await using (store = await OpenAsync(crashed, time, SmallSegments))
        {
            var pending = Assert.Single(Pending(store, forgotten));
            Assert.Equal(kept, pending.Id.Value);
            Assert.Equal(keptPayload, await ReadAsync(store, forgotten, pending));
            Assert.Empty(Pending(store, busy));
            var stats = store.GetStatistics();
            Assert.Equal(1, stats.PendingMessages);
            Assert.Equal(keptPayload.Length, stats.PendingBytes);
        }
    }

    [Fact]
    public async Task Acks_and_expiries_in_the_log_are_replayed_and_the_counters_match_what_is_left()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        foreach (var i in Enumerable.Range(0, 5))
        {
            Append(store, aid, Payload(i, 100 + i)); // expired below
        }

        time.Advance(TimeSpan.FromMinutes(30));
        var recent = Enumerable.Range(0, 5).Select(i => Append(store, aid, Payload(10 + i, 200 + i))).ToArray();
        await CommitAllAsync(store);

        var ack = await store.AckAsync(aid, recent[0], recent[2]);
        Assert.Equal(AckStatus.Acked, ack.Status);
        Assert.Equal(5, await store.ExpireAsync(TestStore.Start.ToUnixTimeMilliseconds()));
        await CommitAllAsync(store);
        using var crashed = await CrashAsync(store, dir);

        await using (store = await OpenAsync(crashed, time))
        {
            Assert.Equal([recent[1], recent[3], recent[4]], PendingIds(store, aid));
            var stats = store.GetStatistics();
            Assert.Equal(3, stats.PendingMessages);
            Assert.Equal(201 + 203 + 204, stats.PendingBytes);
        }
    }

    private static long SegmentIndex(string path) => long.Parse(Path.GetExtension(path).AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
}
