using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>Message TTL, quotas, compaction: the store stays bounded and loses nothing it acknowledged.</summary>
public sealed class RetentionTests
{
    private static void SmallSegments(FasterStorageOptions o)
    {
        o.PageSizeBits = 16;
        o.MemorySizeBits = 18;
        o.SegmentSizeBits = 20; // 1 MiB segments
    }

    [Fact]
    public async Task The_sweep_drops_messages_past_their_ttl_and_the_drop_survives_a_restart()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        void Ttl(FasterStorageOptions o) => o.MessageTtl = TimeSpan.FromDays(21);
        AddressId aid;
        long[] young;
        await using (var store = await OpenAsync(dir, time, Ttl))
        {
            aid = AddressId.NewRandom();
            await store.CreateDurableAsync(aid, Key(1), time.GetUtcNow().AddDays(60).ToUnixTimeSeconds());
            for (var i = 0; i < 3; i++)
            {
                Append(store, aid, Payload(i, 100));
            }

            time.Advance(TimeSpan.FromDays(10));
            young = [Append(store, aid, Payload(10, 100)), Append(store, aid, Payload(11, 100))];
            await CommitAllAsync(store);

            time.Advance(TimeSpan.FromDays(11) - TimeSpan.FromSeconds(1));
            await store.RunMaintenanceAsync();
            Assert.Equal(5, Pending(store, aid).Length); // not yet 21 days

            time.Advance(TimeSpan.FromSeconds(1));
            await store.RunMaintenanceAsync();
            Assert.Equal(young, PendingIds(store, aid));
            var stats = store.GetStatistics();
            Assert.Equal(3, stats.MessagesExpired);
            Assert.Equal(2, stats.PendingMessages);
            Assert.Equal(200, stats.PendingBytes);
        }

        await using (var store = await OpenAsync(dir, time, Ttl))
        {
            Assert.Equal(young, PendingIds(store, aid));
            Assert.Equal(2, store.GetStatistics().PendingMessages);
        }
    }

    [Fact]
    public async Task The_per_address_message_quota_refuses_past_the_limit_until_the_owner_acks()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.MaxPendingMessagesPerAddress = 3);
        var aid = await CreateAddressAsync(store, time);
        var other = await CreateAddressAsync(store, time, seed: 2);
        var first = Append(store, aid, Payload(1, 10));
        Append(store, aid, Payload(2, 10));
        Append(store, aid, Payload(3, 10));
        Assert.Equal(AppendStatus.QuotaAddress, store.TryAppendMessage(aid, Payload(4, 10), out var refused));
        Assert.Equal(0, refused);
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(other, Payload(5, 10), out _)); // per address, not global

        await CommitAllAsync(store);
        Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, first)).Status);
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(6, 10), out _));
        await CommitAllAsync(store);
        Assert.Equal(3, Pending(store, aid).Length);
    }

    [Fact]
    public async Task The_per_address_byte_quota_counts_ciphertext_bytes()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.MaxPendingBytesPerAddress = 1000);
        var aid = await CreateAddressAsync(store, time);
        Append(store, aid, Payload(1, 600));
        Assert.Equal(AppendStatus.QuotaAddress, store.TryAppendMessage(aid, Payload(2, 401), out _));
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(3, 400), out _));
        Assert.Equal(AppendStatus.QuotaAddress, store.TryAppendMessage(aid, Payload(4, 1), out _));
    }

    [Fact]
    public async Task The_disk_budget_refuses_sends_but_not_acks_and_frees_up_once_the_log_is_truncated()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o =>
        {
            SmallSegments(o);
            o.MaxLogBytes = 4L << 20;
        });
        var aid = await CreateAddressAsync(store, time);
        var ids = new List<long>();
        AppendStatus status;
        while (true)
        {
            (status, var id) = await store.AppendMessageAsync(aid, Payload(ids.Count, 1000), Timeout());
            if (status != AppendStatus.Appended)
            {
                break;
            }

            ids.Add(id);
        }

        // Refused once the next record would pass the budget: short of it by at most that record and the page
        // end it would skip. Past it by at most what was appended since the last accepted record was checked:
        // the commit record its durability wait cost (FASTER's 12-byte entry header and a 44-byte body) and
        // the page end that record may have skipped.
        Assert.Equal(AppendStatus.QuotaServer, status);
        var stats = store.GetStatistics();
        var entry = LogRecords.FasterEntryHeaderSize + ((LogRecords.MessageHeaderSize + 1000 + 3) & ~3);
        const int CommitRecord = 12 + 44;
        Assert.InRange(stats.LogTailAddress - stats.LogBeginAddress, (4L << 20) - (2 * entry), (4L << 20) + (2 * CommitRecord));

        // Over budget, the owner can still drain: acks are control records, never refused for space.
        await CommitAllAsync(store);
        foreach (var batch in ids.Chunk(500))
        {
            var (acked, record) = await store.AckAsync(aid, batch, Timeout());
            Assert.Equal(AckStatus.Acked, acked);
            await store.WaitForCommitAsync(record);
        }

        await store.RunMaintenanceAsync();
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(1, 1000), out _));
    }

    [Fact]
    public async Task Renewal_policy_and_notify_endpoint_persist_through_the_log_and_through_the_snapshot()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        AddressId a, b;
        var batched = new DeliveryPolicy(DeliveryPolicyKind.Batched, 200);
        await using (var store = await OpenAsync(dir, time))
        {
            a = await CreateAddressAsync(store, time);
            b = await CreateAddressAsync(store, time, seed: 2);
            var r1 = await store.RenewAsync(a, now + 1000);
            var r2 = await store.SetPolicyAsync(a, batched);
            var r3 = await store.SetNotifyEndpointAsync(a, "https://push.example/up/abc");
            Assert.All(new[] { r1, r2, r3, await store.SetPolicyAsync(b, new DeliveryPolicy(DeliveryPolicyKind.PullOnly, 0)) }, r => Assert.Equal(AddressUpdateStatus.Updated, r.Status));
            await store.WaitForCommitAsync(r3.Ticket);
            await store.RunMaintenanceAsync(); // snapshot: the records above are now below its covered address
            var r4 = await store.SetNotifyEndpointAsync(b, "https://push.example/up/b");
            var r5 = await store.SetNotifyEndpointAsync(a, null); // replayed from the log
            Assert.Equal((AddressUpdateStatus.Updated, AddressUpdateStatus.Updated), (r4.Status, r5.Status));
            await store.WaitForCommitAsync(DurabilityTicket.Latest(r4.Ticket, r5.Ticket));
        }

        await using (var store = await OpenAsync(dir, time))
        {
            Assert.True(store.TryGetAddress(a, out var infoA));
            Assert.Equal(now + 1000, infoA.ExpiresAt);
            Assert.Equal(batched, infoA.Policy);
            Assert.Null(infoA.NotifyEndpoint);
            Assert.True(store.TryGetAddress(b, out var infoB));
            Assert.Equal(DeliveryPolicyKind.PullOnly, infoB.Policy.Kind);
            Assert.Equal("https://push.example/up/b", infoB.NotifyEndpoint);
        }
    }

    [Fact]
    public async Task Renewal_refuses_revoked_and_expired_addresses_and_unknown_ones()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var revoked = await CreateAddressAsync(store, time);
        await store.RevokeAsync(revoked);
        Assert.Equal(AddressUpdateStatus.Revoked, (await store.RenewAsync(revoked, now + 100)).Status);

        var shortLived = AddressId.NewRandom();
        await store.CreateAddressAsync(shortLived, Key(3), now + 10);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(AddressUpdateStatus.Expired, (await store.RenewAsync(shortLived, now + 100)).Status);
        Assert.Equal(AddressUpdateStatus.UnknownAddress, (await store.RenewAsync(AddressId.NewRandom(), now + 100)).Status);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.SetPolicyAsync(revoked, new DeliveryPolicy(DeliveryPolicyKind.Batched, 0)));
    }

    [Fact]
    public async Task A_forgotten_address_does_not_pin_the_log_while_two_million_messages_flow_through_another()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId forgotten, busy;
        long forgottenId;
        var forgottenPayload = Payload(42, 300);
        long movedCount;
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            forgotten = await CreateAddressAsync(store, time);
            busy = await CreateAddressAsync(store, time, seed: 2);
            forgottenId = Append(store, forgotten, forgottenPayload);

            const int total = 2_000_000;
            const int batch = 2000;
            var ids = new long[batch];
            var maxSegments = 0;
            for (var sent = 0; sent < total; sent += batch)
            {
                for (var i = 0; i < batch; i++)
                {
                    var (status, id) = await store.AppendMessageAsync(busy, Payload(i, 64), Timeout());
                    Assert.Equal(AppendStatus.Appended, status);
                    ids[i] = id;
                }

                await CommitAllAsync(store);
                var (acked, record) = await store.AckAsync(busy, ids, Timeout());
                Assert.Equal(AckStatus.Acked, acked);
                if ((sent / batch) % 25 == 0)
                {
                    await store.WaitForCommitAsync(record);
                    await store.RunMaintenanceAsync();
                    maxSegments = Math.Max(maxSegments, dir.SegmentFiles().Length);
                }
            }

            await CommitAllAsync(store);
            await store.RunMaintenanceAsync();
            var stats = store.GetStatistics();
            movedCount = stats.MessagesMoved;

            // ~200 MB went through the log; without compaction the forgotten message would keep all of it.
            Assert.True(stats.LogTailAddress > 180L << 20, $"tail {stats.LogTailAddress}");
            Assert.True(maxSegments <= 12, $"the log held up to {maxSegments} segments of 1 MiB");
            Assert.True(dir.SegmentFiles().Length <= 8, $"{dir.SegmentFiles().Length} segments remain");
            Assert.True(movedCount >= 1, "the forgotten message was never copied forward");
            Assert.True(movedCount < 1000, $"{movedCount} moves: the same message is being copied over and over");

            var pending = Assert.Single(Pending(store, forgotten));
            Assert.Equal(forgottenId, pending.Id.Value);
            Assert.NotEqual(forgottenId, pending.ReadHint); // read from its copy
            var buffer = new byte[300];
            Assert.Equal(300, await store.ReadAsync(forgotten, pending, buffer));
            Assert.Equal(forgottenPayload, buffer);
            Assert.Empty(Pending(store, busy));
        }

        // After a restart the message comes back from its copy, under its original id, once.
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            var pending = Assert.Single(Pending(store, forgotten));
            Assert.Equal(forgottenId, pending.Id.Value);
            var buffer = new byte[300];
            Assert.Equal(300, await store.ReadAsync(forgotten, pending, buffer));
            Assert.Equal(forgottenPayload, buffer);
            Assert.Empty(Pending(store, busy));
            Assert.Equal(1, store.GetStatistics().PendingMessages);

            var (acked, record) = await store.AckAsync(forgotten, [forgottenId], Timeout());
            Assert.Equal(AckStatus.Acked, acked);
            await store.WaitForCommitAsync(record);
        }

        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            Assert.Empty(Pending(store, forgotten));
        }
    }

    [Fact]
    public async Task A_dense_backlog_is_not_copied_forward()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, SmallSegments);
        var aid = await CreateAddressAsync(store, time);
        for (var i = 0; i < 5000; i++)
        {
            var (status, _) = await store.AppendMessageAsync(aid, Payload(i, 1000), Timeout());
            Assert.Equal(AppendStatus.Appended, status);
        }

        await CommitAllAsync(store);
        await store.RunMaintenanceAsync();
        Assert.Equal(0, store.GetStatistics().MessagesMoved);
        Assert.Equal(5000, Pending(store, aid).Length);
    }
}
