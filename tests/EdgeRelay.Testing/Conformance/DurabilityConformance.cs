using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

/// <summary>
/// What every backend's <see cref="IDurability"/> must do: tickets become durable only through a flush, in
/// the order they were handed out; flushes are shared; a closed storage refuses everything and a graceful
/// close leaves every write durable.
/// </summary>
public abstract class DurabilityConformance : StorageConformance
{
    [Fact]
    public async Task A_write_is_durable_only_after_a_flush_and_none_is_durable_by_definition()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);

        var (_, ticket) = Append(storage, aid, Payload(1, 10));

        Assert.True(storage.IsDurable(DurabilityTicket.None));
        Assert.True(CompletedSynchronously(storage.WaitDurableAsync(DurabilityTicket.None)));
        Assert.False(storage.IsDurable(ticket));
        await FlushAsync(storage);
        Assert.True(storage.IsDurable(ticket));
    }

    [Fact]
    public async Task Tickets_become_durable_in_the_order_they_were_handed_out()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var tickets = Enumerable.Range(0, 10).Select(i => Append(storage, aid, Payload(i, 10)).Ticket).ToArray();
        var (_, revoke) = await storage.RevokeAsync(aid);

        Assert.True(tickets.Zip(tickets.Skip(1)).All(pair => pair.First < pair.Second), "later writes have larger tickets");
        Assert.True(tickets[^1] < revoke);

        await storage.WaitDurableAsync(revoke, Deadline());

        Assert.All(tickets, t => Assert.True(storage.IsDurable(t)));
    }

    [Fact]
    public async Task Waiting_for_a_durable_ticket_completes_at_once()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var (_, ticket) = Append(storage, aid, Payload(1, 10));
        await storage.WaitDurableAsync(ticket, Deadline());

        Assert.True(CompletedSynchronously(storage.WaitDurableAsync(ticket)));
    }

    [Fact]
    public async Task A_flush_covers_everything_written_before_it_was_asked_for()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var (_, message) = Append(storage, aid, Payload(1, 10));
        var (_, policy) = await storage.SetPolicyAsync(aid, DeliveryPolicy.PullOnly);

        await storage.FlushAsync().WaitAsync(Deadline());

        Assert.True(storage.IsDurable(message));
        Assert.True(storage.IsDurable(policy));
    }

    [Fact]
    public async Task Many_waiters_that_arrive_together_share_a_flush()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var before = storage.GetStatistics().Flushes;

        // Append first, then wait: every wait arrives after all 200 writes, so the first flush covers them all,
        // however slowly this loop runs on a busy machine.
        var tickets = Enumerable.Range(0, 200).Select(i => Append(storage, aid, Payload(i, 64)).Ticket).ToArray();
        await Task.WhenAll(tickets.Select(t => storage.WaitDurableAsync(t).AsTask())).WaitAsync(Deadline());

        // The first wait starts a flush; the ones that arrive while it runs share at most one more.
        Assert.InRange(storage.GetStatistics().Flushes - before, 1, 2);
        Assert.Equal(200, Pending(storage, aid).Length);
    }

    [Fact]
    public async Task A_closed_storage_refuses_everything_and_kept_every_write()
    {
        var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var (id, ticket) = Append(storage, aid, Payload(1, 10));
        var wait = storage.WaitDurableAsync(ticket).AsTask();

        await storage.DisposeAsync();
        await storage.DisposeAsync(); // idempotent

        await wait.WaitAsync(Deadline()); // a waiter of a write made before the close is served by it
        Assert.Throws<ObjectDisposedException>(() => storage.TryAppend(aid, Payload(1, 10), out _, out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.AppendAsync(aid, Payload(1, 10)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.CreateAddressAsync(AddressId.NewRandom(), Key(1), long.MaxValue));
        Assert.Throws<ObjectDisposedException>(() => storage.TryGetAddress(aid, out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.RevokeAsync(aid));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.SetPolicyAsync(aid, DeliveryPolicy.PullOnly));
        Assert.Throws<ObjectDisposedException>(() => storage.GetPending(aid, MessageId.None, new PendingMessage[1]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.AckAsync(aid, new[] { id }));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.ReadAsync(aid, new PendingMessage(id, 10, 0), new byte[10]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await storage.ExpireAsync(0));
        Assert.Throws<ObjectDisposedException>(storage.RequestFlush);
        Assert.Throws<ObjectDisposedException>(() => { _ = storage.FlushAsync(); });
        Assert.Throws<ObjectDisposedException>(() => storage.GetStatistics());

        await using var reopened = await Backend.OpenAsync();
        AssertAppendIds([id], [Assert.Single(Pending(reopened, aid)).Id]);
        Assert.Equal(Payload(1, 10), Assert.Single(await ReadAllAsync(reopened, aid)));
    }
}
