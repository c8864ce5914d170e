using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

/// <summary>
/// What every backend's <see cref="IMessageQueue"/> must do: order, visibility only once durable, exact
/// reads, refusals and quotas, all-or-nothing acks, the TTL, and what a restart or a crash keeps.
/// </summary>
/// <remarks>A backend's test project derives a class from this and implements <see cref="StorageConformance.CreateBackend"/>; every test here then runs against it unchanged.</remarks>
public abstract partial class MessageQueueConformance : StorageConformance
{
    [Fact]
    public async Task Appended_messages_are_invisible_until_durable_then_listed_in_append_order()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);

        var appended = Enumerable.Range(0, 20).Select(i => Append(storage, aid, Payload(i, 100 + i))).ToArray();

        // Nothing asked for a flush yet, so nothing is deliverable.
        Assert.Empty(Pending(storage, aid));
        Assert.False(storage.IsDurable(appended[^1].Ticket));

        await storage.WaitDurableAsync(appended[^1].Ticket, Deadline());

        var pending = Pending(storage, aid);
        AssertAppendIds(appended.Select(a => a.Id), pending.Select(p => p.Id));
        Assert.True(pending.Zip(pending.Skip(1)).All(pair => pair.First.Id < pair.Second.Id), "ids increase in append order");
        Assert.All(pending, p => Assert.True(p.Id.Value > 0, "ids are positive"));
        // Each message has its own length, so the lengths show the listing is in append order whatever the ids.
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 100 + i), pending.Select(p => p.Length));
        Assert.All(pending, p => Assert.Equal(StorageBackend.Start.ToUnixTimeMilliseconds(), p.ReceivedAtUnixMs));
    }

    [Fact]
    public async Task Every_ciphertext_reads_back_exactly()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        int[] sizes = [1, 3, 500, 4095, storage.MaxPayloadBytes];
        foreach (var size in sizes)
        {
            Append(storage, aid, Payload(size, size));
        }

        await FlushAsync(storage);

        Assert.Equal(sizes.Select(size => Payload(size, size)), await ReadAllAsync(storage, aid));
    }

    [Fact]
    public async Task Pending_messages_page_with_a_cursor()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var appended = Enumerable.Range(0, 10).Select(i => Append(storage, aid, Payload(i, 10)).Id).ToArray();
        await FlushAsync(storage);
        var ids = PendingIds(storage, aid);
        AssertAppendIds(appended, ids);

        var page = new PendingMessage[4];
        var seen = new List<MessageId>();
        var after = MessageId.None;
        int n;
        while ((n = storage.GetPending(aid, after, page)) > 0)
        {
            Assert.True(n <= page.Length);
            seen.AddRange(page[..n].Select(p => p.Id));
            after = page[n - 1].Id;
        }

        Assert.Equal(ids, seen);
        Assert.Equal(0, storage.GetPending(AddressId.NewRandom(), MessageId.None, page));
    }

    [Fact]
    public async Task Unknown_revoked_and_expired_addresses_are_refused_by_both_append_paths()
    {
        await using var storage = await Backend.OpenAsync();
        var revoked = await CreateAddressAsync(storage);
        await storage.WaitDurableAsync((await storage.RevokeAsync(revoked)).Ticket, Deadline());
        var expiring = await CreateAddressAsync(storage, seed: 2, lifetime: TimeSpan.FromHours(1));

        foreach (var (aid, expected) in new[] { (AddressId.NewRandom(), AppendStatus.UnknownAddress), (revoked, AppendStatus.Revoked) })
        {
            Assert.Equal(expected, storage.TryAppend(aid, Payload(1, 10), out var id, out var ticket));
            Assert.Equal((default(MessageId), DurabilityTicket.None), (id, ticket));
            Assert.Equal(expected, (await storage.AppendAsync(aid, Payload(1, 10))).Status);
        }

        Time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(expiring, Payload(1, 10), out _, out _));
        Time.Advance(TimeSpan.FromSeconds(1)); // now == expiry
        Assert.Equal(AppendStatus.Expired, storage.TryAppend(expiring, Payload(1, 10), out _, out _));
        Assert.Equal(AppendStatus.Expired, (await storage.AppendAsync(expiring, Payload(1, 10))).Status);
    }

    [Fact]
    public async Task A_ciphertext_over_the_maximum_is_refused_and_the_maximum_accepted()
    {
        await using var storage = await Backend.OpenAsync(l => l.MaxPayloadBytes = 1000);
        var aid = await CreateAddressAsync(storage);

        Assert.Equal(1000, storage.MaxPayloadBytes);
        Assert.Equal(AppendStatus.PayloadTooLarge, storage.TryAppend(aid, new byte[1001], out _, out _));
        Assert.Equal(AppendStatus.PayloadTooLarge, (await storage.AppendAsync(aid, new byte[1001])).Status);
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, new byte[1000], out _, out _));
    }

    [Fact]
    public async Task The_per_address_message_quota_refuses_past_the_limit_until_the_owner_acks()
    {
        await using var storage = await Backend.OpenAsync(l => l.MaxPendingMessagesPerAddress = 3);
        var aid = await CreateAddressAsync(storage);
        var other = await CreateAddressAsync(storage, seed: 2);
        Append(storage, aid, Payload(1, 10));
        Append(storage, aid, Payload(2, 10));
        Append(storage, aid, Payload(3, 10));

        Assert.Equal(AppendStatus.QuotaAddress, storage.TryAppend(aid, Payload(4, 10), out var refused, out _));
        Assert.Equal(default, refused);
        Assert.Equal(AppendStatus.QuotaAddress, (await storage.AppendAsync(aid, Payload(4, 10))).Status);
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(other, Payload(5, 10), out _, out _)); // per address, not global

        await FlushAsync(storage);
        var first = Pending(storage, aid)[0].Id;
        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, new[] { first })).Status);
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, Payload(6, 10), out _, out _));
        await FlushAsync(storage);
        Assert.Equal(3, Pending(storage, aid).Length);
    }

    [Fact]
    public async Task The_per_address_byte_quota_counts_ciphertext_bytes()
    {
        await using var storage = await Backend.OpenAsync(l => l.MaxPendingBytesPerAddress = 1000);
        var aid = await CreateAddressAsync(storage);
        Append(storage, aid, new byte[600]);

        Assert.Equal(AppendStatus.QuotaAddress, storage.TryAppend(aid, new byte[401], out _, out _));
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, new byte[400], out _, out _));
        Assert.Equal(AppendStatus.QuotaAddress, storage.TryAppend(aid, new byte[1], out _, out _));
    }

    [Fact]
    public async Task An_ack_removes_the_messages_at_once_before_it_is_durable()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var appended = Enumerable.Range(0, 6).Select(i => Append(storage, aid, Payload(i, 10)).Id).ToArray();
        await FlushAsync(storage);
        var ids = PendingIds(storage, aid);
        AssertAppendIds(appended, ids);

        // The oldest two plus one from the middle: the head of the queue and a hole in it.
        var (status, ticket) = await storage.AckAsync(aid, new[] { ids[0], ids[1], ids[4] });

        Assert.Equal(AckStatus.Acked, status);
        Assert.False(ticket.IsNone);
        Assert.False(storage.IsDurable(ticket));
        Assert.Equal(new[] { ids[2], ids[3], ids[5] }, PendingIds(storage, aid));
        await storage.WaitDurableAsync(ticket, Deadline());
        Assert.Equal(3, storage.GetStatistics().PendingMessages);
        Assert.Equal(30, storage.GetStatistics().PendingBytes);
    }

    [Fact]
    public async Task An_ack_naming_any_id_that_is_not_a_durable_pending_message_of_the_address_changes_nothing()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var other = await CreateAddressAsync(storage, seed: 2);
        var appended = Enumerable.Range(0, 3).Select(i => Append(storage, aid, Payload(i, 10)).Id).ToArray();
        Append(storage, other, Payload(9, 10));
        await FlushAsync(storage);
        var ids = PendingIds(storage, aid);
        AssertAppendIds(appended, ids);
        var foreign = Assert.Single(PendingIds(storage, other));
        await storage.WaitDurableAsync((await storage.AckAsync(aid, new[] { ids[2] })).Ticket, Deadline());

        // Not durable yet, so its owner cannot have seen it: the append returned its id, or None from a backend
        // that numbers messages when it stores them; either names no message an ack may remove.
        var undurable = Append(storage, aid, Payload(5, 10)).Id;

        // One valid id plus, in turn: another address' message, an id never handed out, an already acked
        // one, the id the append of one not durable yet returned.
        foreach (var bad in new[] { foreign, new MessageId(long.MaxValue), ids[2], undurable })
        {
            var (status, ticket) = await storage.AckAsync(aid, new[] { ids[0], bad });
            Assert.Equal(AckStatus.UnknownMessage, status);
            Assert.Equal(DurabilityTicket.None, ticket);
        }

        await FlushAsync(storage);
        var pending = PendingIds(storage, aid);
        Assert.Equal(new[] { ids[0], ids[1] }, pending[..2]);
        AssertAppendIds([undurable], pending[2..]);
        Assert.Equal(new[] { Payload(0, 10), Payload(1, 10), Payload(5, 10) }, await ReadAllAsync(storage, aid));
        Assert.Equal(AckStatus.UnknownAddress, (await storage.AckAsync(AddressId.NewRandom(), new[] { ids[0] })).Status);
        Assert.Equal(new WriteResult<AckStatus>(AckStatus.Acked, DurabilityTicket.None), await storage.AckAsync(aid, Array.Empty<MessageId>()));
    }

    [Fact]
    public async Task Repeated_ids_in_one_ack_count_once()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var appended = Enumerable.Range(0, 3).Select(i => Append(storage, aid, Payload(i, 10)).Id).ToArray();
        await FlushAsync(storage);
        var ids = PendingIds(storage, aid);
        AssertAppendIds(appended, ids);

        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, new[] { ids[1], ids[1] })).Status);

        Assert.Equal(new[] { ids[0], ids[2] }, PendingIds(storage, aid));
        Assert.Equal(2, storage.GetStatistics().PendingMessages);
    }

    [Fact]
    public async Task A_revoked_address_keeps_its_pending_messages_readable_and_ackable()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var appended = Append(storage, aid, Payload(1, 10)).Id;
        await FlushAsync(storage);
        Assert.Equal(RevokeStatus.Revoked, (await storage.RevokeAsync(aid)).Status);

        var id = Assert.Single(Pending(storage, aid)).Id;
        AssertAppendIds([appended], [id]);
        Assert.Equal(Payload(1, 10), Assert.Single(await ReadAllAsync(storage, aid)));
        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, new[] { id })).Status);
        Assert.Empty(Pending(storage, aid));
    }

    [Fact]
    public async Task More_ids_than_one_ack_may_carry_are_refused()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await storage.AckAsync(aid, new MessageId[storage.MaxAckIds + 1]));
    }

    [Fact]
    public async Task Expiry_drops_what_was_received_at_or_before_the_cutoff_and_the_drop_survives_a_restart()
    {
        var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage, lifetime: TimeSpan.FromDays(60));
        for (var i = 0; i < 3; i++)
        {
            Append(storage, aid, Payload(i, 100));
        }

        var cutoff = Time.GetUtcNow().ToUnixTimeMilliseconds();
        Time.Advance(TimeSpan.FromMilliseconds(1));
        var appended = new[] { Append(storage, aid, Payload(10, 100)).Id, Append(storage, aid, Payload(11, 100)).Id };
        await FlushAsync(storage);
        var young = PendingIds(storage, aid)[3..];
        AssertAppendIds(appended, young);

        Assert.Equal(0, await storage.ExpireAsync(cutoff - 1));
        Assert.Equal(3, await storage.ExpireAsync(cutoff));
        Assert.Equal(young, PendingIds(storage, aid));
        Assert.Equal(2, storage.GetStatistics().PendingMessages);
        Assert.Equal(200, storage.GetStatistics().PendingBytes);
        await FlushAsync(storage);
        await storage.DisposeAsync();

        await using (storage = await Backend.OpenAsync())
        {
            Assert.Equal(young, PendingIds(storage, aid));
        }
    }

    [Fact]
    public async Task Statistics_count_addresses_and_pending_messages_and_bytes()
    {
        await using var storage = await Backend.OpenAsync();
        var a = await CreateAddressAsync(storage);
        var b = await CreateAddressAsync(storage, seed: 2);
        Append(storage, a, Payload(1, 100));
        var appended = Append(storage, a, Payload(2, 200)).Id;
        Append(storage, b, Payload(3, 300));
        await FlushAsync(storage);
        var second = PendingIds(storage, a)[1];
        AssertAppendIds([appended], [second]);
        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(a, new[] { second })).Status);

        var stats = storage.GetStatistics();
        Assert.Equal(2, stats.Addresses);
        Assert.Equal(2, stats.PendingMessages);
        Assert.Equal(400, stats.PendingBytes);
        Assert.True(stats.Flushes >= 1);
    }
}
