using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// What the FASTER backend adds to the queue conformance suite (<see cref="FasterMessageQueueConformance"/>):
/// ids and tickets are log addresses, and a read never returns a record that is not a message.
/// </summary>
public sealed class AppendTests
{
    [Fact]
    public async Task Ids_are_the_log_addresses_of_the_message_records_and_tickets_those_of_every_record()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);

        var tail = store.GetStatistics().LogTailAddress;
        Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, Payload(1, 10), out var id, out var ticket));

        Assert.Equal(tail, id.Value);
        Assert.Equal(tail, ticket.Position);
        Assert.False(store.IsCommitted(id.Value));
        await store.WaitForCommitAsync(ticket, Timeout());
        Assert.True(store.CommittedUntilAddress > id.Value);
    }

    [Fact]
    public async Task Payloads_of_every_size_from_empty_to_the_maximum_read_back_exactly()
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
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(Payload(sizes[i], sizes[i]), await ReadAsync(store, aid, pending[i]));
        }
    }

    [Fact]
    public async Task A_read_hint_that_points_at_a_record_other_than_a_message_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = AddressId.NewRandom();
        var created = await store.CreateAddressAsync(aid, Key(1), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        await store.WaitForCommitAsync(created);

        // The address' own record is durable but is not a message: its bytes are never served as one.
        var notAMessage = new PendingMessage(new MessageId(created.Position), 10, 0) { ReadHint = created.Position };
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.ReadAsync(aid, notAMessage, new byte[10]));

        // Past the committed tail there is nothing to read.
        var beyond = new PendingMessage(new MessageId(1), 10, 0) { ReadHint = store.CommittedUntilAddress + 1000 };
        Assert.Equal(-1, await store.ReadAsync(aid, beyond, new byte[10]));
    }

    [Fact]
    public async Task Waiting_for_a_ticket_this_store_never_handed_out_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        Append(store, aid, Payload(1, 10));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.WaitForCommitAsync(store.GetStatistics().LogTailAddress + 64));
    }
}
