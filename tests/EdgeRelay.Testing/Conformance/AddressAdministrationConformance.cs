using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

/// <summary>
/// The operator's view of a store (<see cref="IAddressAdministration"/>): listings in address order with each
/// backlog, and purges that are durable, survive restarts and crashes, and touch no other address.
/// </summary>
public abstract class AddressAdministrationConformance : StorageConformance
{
    [Fact]
    public async Task Pages_list_every_address_once_in_address_order_with_its_backlog()
    {
        await using var storage = await Backend.OpenAsync();
        var addresses = new List<AddressId>();
        for (var i = 0; i < 7; i++)
        {
            addresses.Add(await CreateAddressAsync(storage, seed: i));
        }

        for (var i = 0; i < addresses.Count; i++)
        {
            for (var m = 0; m < i; m++)
            {
                Append(storage, addresses[i], Payload(m, 10 + i));
            }
        }

        Assert.Equal(RevokeStatus.Revoked, (await storage.RevokeAsync(addresses[3])).Status);
        await FlushAsync(storage);

        var listed = new List<AddressListing>();
        var page = new AddressListing[3];
        var after = default(AddressId);
        int n;
        var pages = 0;
        do
        {
            n = storage.ListAddresses(after, page);
            listed.AddRange(page[..n]);
            after = n > 0 ? page[n - 1].Info.Id : after;
            pages++;
        }
        while (n == page.Length);

        Assert.Equal(3, pages);
        Assert.Equal(addresses.Order(AddressOrder.Instance), listed.Select(l => l.Info.Id));
        for (var i = 0; i < addresses.Count; i++)
        {
            var listing = Assert.Single(listed, l => l.Info.Id == addresses[i]);
            Assert.Equal(i, listing.PendingMessages);
            Assert.Equal(i * (10L + i), listing.PendingBytes);
            Assert.Equal(i == 3, listing.Info.IsRevoked);
        }

        Assert.Equal(0, storage.ListAddresses(listed[^1].Info.Id, page));
    }

    [Fact]
    public async Task One_address_is_looked_up_with_its_backlog_and_an_unknown_one_is_not_found()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        Append(storage, aid, Payload(1, 100));
        Append(storage, aid, Payload(2, 50));

        Assert.True(storage.TryGetListing(aid, out var listing));
        Assert.Equal((aid, 2, 150L), (listing.Info.Id, listing.PendingMessages, listing.PendingBytes));
        Assert.False(storage.TryGetListing(AddressId.NewRandom(), out _));
    }

    [Fact]
    public async Task A_purge_drops_the_whole_backlog_of_one_address_and_nothing_else()
    {
        await using var storage = await Backend.OpenAsync();
        var purged = await CreateAddressAsync(storage);
        var kept = await CreateAddressAsync(storage, seed: 2);
        for (var i = 0; i < 5; i++)
        {
            Append(storage, purged, Payload(i, 40));
            Append(storage, kept, Payload(i, 30));
        }

        await FlushAsync(storage);
        var purgedIds = PendingIds(storage, purged);
        var before = storage.GetStatistics();

        var result = await storage.PurgeAsync(purged, Deadline());
        await storage.WaitDurableAsync(result.Ticket, Deadline());

        Assert.Equal((PurgeStatus.Purged, 5L, 200L), (result.Status, result.Messages, result.Bytes));
        Assert.Empty(Pending(storage, purged));
        Assert.Equal(5, Pending(storage, kept).Length);
        var after = storage.GetStatistics();
        Assert.Equal((before.PendingMessages - 5, before.PendingBytes - 200), (after.PendingMessages, after.PendingBytes));
        Assert.Equal(AckStatus.UnknownMessage, (await storage.AckAsync(purged, purgedIds.AsMemory(0, 1))).Status);
        Assert.True(storage.TryGetListing(purged, out var listing));
        Assert.Equal((0, 0L, false), (listing.PendingMessages, listing.PendingBytes, listing.Info.IsRevoked));

        // The address itself stays: it takes new messages.
        var next = Append(storage, purged, Payload(9, 10)).Id;
        await FlushAsync(storage);
        var listed = Assert.Single(PendingIds(storage, purged));
        AssertAppendIds([next], [listed]);
        Assert.True(listed > purgedIds[^1], "a new message takes no purged message's id");
        Assert.Equal(Payload(9, 10), Assert.Single(await ReadAllAsync(storage, purged)));
    }

    [Fact]
    public async Task A_purge_of_an_empty_or_unknown_address_writes_nothing()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);

        var empty = await storage.PurgeAsync(aid, Deadline());
        var unknown = await storage.PurgeAsync(AddressId.NewRandom(), Deadline());

        Assert.Equal(new PurgeResult(PurgeStatus.Purged, 0, 0, DurabilityTicket.None), empty);
        Assert.Equal(new PurgeResult(PurgeStatus.UnknownAddress, 0, 0, DurabilityTicket.None), unknown);
    }

    [Fact]
    public async Task A_durable_purge_survives_a_restart_and_a_crash_and_the_other_messages_stay()
    {
        var storage = await Backend.OpenAsync();
        var purged = await CreateAddressAsync(storage);
        var kept = await CreateAddressAsync(storage, seed: 2);
        var keptPayloads = new List<byte[]>();
        for (var i = 0; i < 6; i++)
        {
            Append(storage, purged, Payload(i, 64));
            keptPayloads.Add(Payload(100 + i, 48));
            Append(storage, kept, keptPayloads[^1]);
        }

        await FlushAsync(storage);
        var result = await storage.PurgeAsync(purged, Deadline());
        await storage.WaitDurableAsync(result.Ticket, Deadline());
        await storage.DisposeAsync();

        storage = await Backend.OpenAsync();
        Assert.Empty(Pending(storage, purged));
        Assert.Equal(keptPayloads, await ReadAllAsync(storage, kept));

        await using (storage = await Backend.CrashAndReopenAsync(storage))
        {
            Assert.Empty(Pending(storage, purged));
            Assert.Equal(keptPayloads, await ReadAllAsync(storage, kept));
            Assert.True(storage.TryGetListing(purged, out var listing));
            Assert.Equal((0, 0L), (listing.PendingMessages, listing.PendingBytes));
            Assert.Equal(6, storage.GetStatistics().PendingMessages);
        }
    }
}
