using static EdgeRelay.Storage.Tests.TestStore;

namespace EdgeRelay.Storage.Tests;

public sealed class AppendTests
{
    [Fact]
    public async Task Appended_messages_are_invisible_until_committed_then_visible_in_order()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);

        var ids = new long[20];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = Append(store, aid, Payload(i, 100 + i));
        }

        // Nothing requested a commit yet, so nothing is deliverable.
        Assert.Empty(Pending(store, aid));
        Assert.False(store.IsCommitted(ids[0]));

        await store.WaitForCommitAsync(ids[^1], Timeout());

        Assert.True(store.IsCommitted(ids[^1]));
        var pending = Pending(store, aid);
        Assert.Equal(ids, pending.Select(p => p.Id));
        Assert.True(ids.Zip(ids.Skip(1)).All(pair => pair.First < pair.Second), "ids are strictly increasing");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 100 + i), pending.Select(p => p.Length));
        Assert.All(pending, p => Assert.Equal(Start.ToUnixTimeMilliseconds(), p.ReceivedAtUnixMs));
    }

    [Fact]
    public async Task Payloads_read_back_exactly_through_both_read_paths()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var sizes = new[] { 0, 1, 3, 500, 4096 };
        foreach (var size in sizes)
        {
            Append(store, aid, Payload(size, size));
        }

        await CommitAllAsync(store);

        var pending = Pending(store, aid);
        Assert.Equal(sizes.Length, pending.Length);
        var buffer = new byte[4096];
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(Payload(sizes[i], sizes[i]), await store.ReadPayloadAsync(pending[i].Id, Timeout()));
            var n = await store.ReadPayloadAsync(pending[i], buffer, Timeout());
            Assert.Equal(Payload(sizes[i], sizes[i]), buffer[..n]);
        }
    }

    [Fact]
    public async Task Reading_an_address_that_is_not_a_message_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = AddressId.NewRandom();
        var record = store.CreateAddress(aid, Key(1), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        await store.WaitForCommitAsync(record);

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.ReadPayloadAsync(record));
        Assert.Null(await store.ReadPayloadAsync(store.CommittedUntilAddress + 1000)); // not committed: nothing there
    }

    [Fact]
    public async Task Many_commit_requests_before_the_committer_runs_cost_one_commit()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var before = store.GetStatistics().Commits;

        // Append first, then ask: every request arrives after all 200 records are in the log, so the
        // first one's commit covers them all, however slowly this loop runs on a busy machine.
        var ids = new List<long>();
        for (var i = 0; i < 200; i++)
        {
            ids.Add(Append(store, aid, Payload(i, 64)));
        }

        var waits = ids.Select(id => store.WaitForCommitAsync(id).AsTask()).ToList();
        await Task.WhenAll(waits).WaitAsync(Timeout());

        // The first request starts a commit; the 199 that arrive while it runs share at most one more.
        Assert.InRange(store.GetStatistics().Commits - before, 1, 2);
        Assert.Equal(200, Pending(store, aid).Length);
    }

    [Fact]
    public async Task Waiting_for_a_committed_record_completes_synchronously_and_a_foreign_address_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var id = Append(store, aid, Payload(1, 10));
        await store.WaitForCommitAsync(id);

        Assert.True(CompletedSynchronously(store.WaitForCommitAsync(id)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.WaitForCommitAsync(store.GetStatistics().TailAddress + 64));
    }

    [Fact]
    public async Task Statistics_count_addresses_pending_messages_and_bytes()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var a = await CreateAddressAsync(store, time);
        var b = await CreateAddressAsync(store, time, seed: 2);
        Append(store, a, Payload(1, 100));
        var second = Append(store, a, Payload(2, 200));
        Append(store, b, Payload(3, 300));
        await CommitAllAsync(store);
        Assert.Equal(AckStatus.Acked, store.Ack(a, [second], out _));

        var stats = store.GetStatistics();
        Assert.Equal(2, stats.Addresses);
        Assert.Equal(2, stats.PendingMessages);
        Assert.Equal(400, stats.PendingBytes);
        Assert.True(stats.TailAddress > stats.BeginAddress);
        Assert.True(stats.Commits >= 3);
    }

    [Fact]
    public async Task Pending_can_be_paged_with_a_cursor()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var ids = Enumerable.Range(0, 10).Select(i => Append(store, aid, Payload(i, 10))).ToArray();
        await CommitAllAsync(store);

        var page = new PendingMessage[4];
        var seen = new List<long>();
        var after = -1L;
        int n;
        while ((n = store.GetPending(aid, after, page)) > 0)
        {
            seen.AddRange(page[..n].Select(p => p.Id));
            after = page[n - 1].Id;
        }

        Assert.Equal(ids, seen);
        Assert.Equal(0, store.GetPending(AddressId.NewRandom(), page));
    }
}
