using static EdgeRelay.Storage.Tests.TestStore;

namespace EdgeRelay.Storage.Tests;

public sealed class AckTests
{
    [Fact]
    public async Task Ack_removes_the_messages_at_once()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var ids = Enumerable.Range(0, 6).Select(i => Append(store, aid, Payload(i, 10))).ToArray();
        await CommitAllAsync(store);

        // Oldest two plus one from the middle: both the head and the compaction path.
        Assert.Equal(AckStatus.Acked, store.Ack(aid, [ids[0], ids[1], ids[4]], out var record));

        // Removed from the index before the ack record is even committed.
        Assert.False(store.IsCommitted(record));
        Assert.Equal(new[] { ids[2], ids[3], ids[5] }, Pending(store, aid).Select(p => p.Id));
        await store.WaitForCommitAsync(record, Timeout());
        Assert.Equal(3, store.GetStatistics().PendingMessages);
        Assert.Equal(30, store.GetStatistics().PendingBytes);
    }

    [Fact]
    public async Task Ack_with_any_unknown_id_changes_nothing()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var other = await CreateAddressAsync(store, time, seed: 2);
        var ids = Enumerable.Range(0, 3).Select(i => Append(store, aid, Payload(i, 10))).ToArray();
        var foreign = Append(store, other, Payload(9, 10));
        await CommitAllAsync(store);
        Assert.Equal(AckStatus.Acked, store.Ack(aid, [ids[2]], out var firstAck));
        await store.WaitForCommitAsync(firstAck);
        var uncommitted = Append(store, aid, Payload(5, 10));
        var tailBefore = store.GetStatistics().TailAddress;

        // One valid id plus, in turn: another address' message, an id never handed out,
        // an already acked one, one not committed yet (the owner cannot have seen it).
        foreach (var bad in new[] { foreign, ids[0] + 1, ids[2], uncommitted })
        {
            Assert.Equal(AckStatus.UnknownMessage, store.Ack(aid, [ids[0], bad], out var record));
            Assert.Equal(0, record);
        }

        Assert.Equal(tailBefore, store.GetStatistics().TailAddress); // no record appended
        Assert.Equal(new[] { ids[0], ids[1] }, Pending(store, aid).Select(p => p.Id));
        Assert.Equal(AckStatus.UnknownAddress, store.Ack(AddressId.NewRandom(), [ids[0]], out _));
        Assert.Equal(AckStatus.Acked, store.Ack(aid, [], out var none));
        Assert.Equal(0, none);
    }

    [Fact]
    public async Task Repeated_ids_in_one_ack_count_once()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var ids = Enumerable.Range(0, 3).Select(i => Append(store, aid, Payload(i, 10))).ToArray();
        await CommitAllAsync(store);

        Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, new[] { ids[1], ids[1] })).Status);
        Assert.Equal(new[] { ids[0], ids[2] }, Pending(store, aid).Select(p => p.Id));
        Assert.Equal(2, store.GetStatistics().PendingMessages);
    }

    [Fact]
    public async Task A_revoked_address_keeps_its_pending_messages_readable_and_ackable()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var id = Append(store, aid, Payload(1, 10));
        await CommitAllAsync(store);
        Assert.Equal(RevokeStatus.Revoked, store.Revoke(aid, out _));

        Assert.Equal(id, Assert.Single(Pending(store, aid)).Id);
        Assert.Equal(Payload(1, 10), await store.ReadPayloadAsync(id));
        Assert.Equal(AckStatus.Acked, store.Ack(aid, [id], out _));
        Assert.Empty(Pending(store, aid));
    }

    [Fact]
    public async Task Acked_messages_never_come_back_after_reopen()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        long[] ids;
        await using (var store = await OpenAsync(dir, time))
        {
            aid = await CreateAddressAsync(store, time);
            ids = Enumerable.Range(0, 5).Select(i => Append(store, aid, Payload(i, 10))).ToArray();
            await CommitAllAsync(store);
            Assert.Equal(AckStatus.Acked, store.Ack(aid, [ids[1], ids[3]], out var record));
            await store.WaitForCommitAsync(record);
        }

        await using (var store = await OpenAsync(dir, time))
        {
            Assert.Equal(new[] { ids[0], ids[2], ids[4] }, Pending(store, aid).Select(p => p.Id));
            Assert.Equal(3, store.GetStatistics().PendingMessages);
        }
    }

    [Fact]
    public async Task Too_many_ids_for_one_record_are_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time); // 64 KiB pages: about 8,000 ids
        var aid = await CreateAddressAsync(store, time);

        Assert.Throws<ArgumentOutOfRangeException>(() => store.Ack(aid, new long[10_000], out _));
    }
}
