using EdgeRelay.Testing;

namespace EdgeRelay.Storage.Faster.Tests;

public sealed class AddressIndexTests
{
    private static AddressEntry Entry(AddressId aid) => new(new AddressInfo(aid, TestStore.Key(1), createdAt: 1, expiresAt: 2, revokedAt: 0));

    [Fact]
    public void Adds_find_every_address_across_growth_and_refuse_an_id_twice()
    {
        var index = new AddressIndex();
        var entries = Enumerable.Range(1, 10_000).Select(i => Entry(new AddressId(0, (ulong)i))).ToArray();
        foreach (var entry in entries)
        {
            Assert.True(index.TryAdd(entry));
        }

        Assert.Equal(entries.Length, index.Count);
        Assert.False(index.TryAdd(Entry(new AddressId(0, 7))));
        Assert.Equal(entries.Length, index.Count);
        foreach (var entry in entries)
        {
            Assert.True(index.TryGetValue(entry.Id, out var found));
            Assert.Same(entry, found);
        }

        Assert.False(index.TryGetValue(new AddressId(0, 10_001), out _));
        Assert.False(index.TryGetValue(new AddressId(1, 1), out _));
        var listed = index.ToList();
        Assert.Equal(entries.Length, listed.Count);
        Assert.Equal(entries.Select(e => e.Id).Order(AddressOrder.Instance), listed.Select(p => p.Key).Order(AddressOrder.Instance));
        Assert.All(listed, p => Assert.Equal(p.Key, p.Value.Id));
    }

    [Fact]
    public void An_index_sized_for_a_count_holds_that_many()
    {
        var index = new AddressIndex(expected: 1000);
        for (var i = 1; i <= 1000; i++)
        {
            Assert.True(index.TryAdd(Entry(new AddressId((ulong)i, 0))));
        }

        Assert.Equal(1000, index.Count);
        Assert.All(Enumerable.Range(1, 1000), i => Assert.True(index.TryGetValue(new AddressId((ulong)i, 0), out _)));
    }

    [Fact]
    public async Task Lookups_racing_adds_find_every_address_whose_add_returned_and_nothing_else()
    {
        var index = new AddressIndex();
        var ids = Enumerable.Range(0, 60_000).Select(_ => AddressId.NewRandom()).ToArray();
        var added = 0; // ids[..added] have been added (their TryAdd returned)
        var writer = Task.Run(() =>
        {
            foreach (var aid in ids)
            {
                Assert.True(index.TryAdd(Entry(aid)));
                Volatile.Write(ref added, Volatile.Read(ref added) + 1);
            }
        });
        var readers = Enumerable.Range(0, 2).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            var lookups = 0;
            while (!writer.IsCompleted || lookups < 10_000)
            {
                var n = Volatile.Read(ref added);
                if (n > 0)
                {
                    var aid = ids[random.Next(n)];
                    Assert.True(index.TryGetValue(aid, out var entry), $"{aid} was added but not found");
                    Assert.Equal(aid, entry.Id);
                }

                Assert.False(index.TryGetValue(new AddressId(0, (ulong)lookups + 1), out _));
                lookups++;
            }
        })).ToArray();

        await Task.WhenAll([writer, .. readers]);
        Assert.Equal(ids.Length, index.Count);
    }

    [Fact]
    public async Task Store_lookups_racing_creations_see_every_created_address()
    {
        using var dir = new TempDirectory();
        var time = TestStore.Clock();
        await using var store = await TestStore.OpenAsync(dir, time);
        var ids = Enumerable.Range(0, 3000).Select(_ => AddressId.NewRandom()).ToArray();
        var created = 0;
        var creator = Task.Run(async () =>
        {
            foreach (var aid in ids)
            {
                await store.CreateAddressAsync(aid, TestStore.Key(1), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
                Volatile.Write(ref created, Volatile.Read(ref created) + 1);
            }
        });
        var reader = Task.Run(() =>
        {
            var random = new Random(1);
            while (!creator.IsCompleted)
            {
                var n = Volatile.Read(ref created);
                if (n > 0)
                {
                    var aid = ids[random.Next(n)];
                    Assert.True(store.TryGetAddress(aid, out var info), $"{aid} was created but not found");
                    Assert.Equal(aid, info.Id);
                }
            }
        });

        await Task.WhenAll(creator, reader);
        Assert.All(ids, aid => Assert.True(store.TryGetAddress(aid, out _)));
    }

    [Fact]
    public async Task Appends_and_acks_on_one_address_from_several_threads_keep_its_index_consistent()
    {
        using var dir = new TempDirectory();
        var time = TestStore.Clock();
        await using var store = await TestStore.OpenAsync(dir, time);
        var aid = await TestStore.CreateAddressAsync(store, time);
        const int Threads = 4;
        const int PerThread = 300;
        var workers = Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            var payload = TestStore.Payload(t, 10 + t);
            var mine = new List<MessageId>();
            for (var i = 0; i < PerThread; i++)
            {
                var result = await store.AppendAsync(aid, payload);
                Assert.Equal(AppendStatus.Appended, result.Status);
                mine.Add(result.Id);

                // Ack half of this thread's messages as it goes, in batches, once they are durable.
                if (mine.Count == 10)
                {
                    await store.WaitDurableAsync(result.Ticket);
                    var acked = await store.AckAsync(aid, mine.Take(5).ToArray());
                    Assert.Equal(AckStatus.Acked, acked.Status);
                    mine.Clear();
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        await store.FlushAsync();

        // Every thread acked 5 of each 10: half of all messages are left, in increasing id order.
        Assert.True(store.TryGetListing(aid, out var listing));
        var expectedBytes = Enumerable.Range(0, Threads).Sum(t => (10 + t) * PerThread / 2L);
        Assert.Equal(Threads * PerThread / 2, listing.PendingMessages);
        Assert.Equal(expectedBytes, listing.PendingBytes);
        var pending = new PendingMessage[Threads * PerThread];
        var n = store.GetPending(aid, new MessageId(0), pending);
        Assert.Equal(Threads * PerThread / 2, n);
        Assert.True(pending.AsSpan(0, n).ToArray().Select(m => m.Id.Value).Zip(pending.AsSpan(1, n - 1).ToArray().Select(m => m.Id.Value)).All(p => p.First < p.Second));

        var ack = await store.AckAsync(aid, pending.AsSpan(0, n).ToArray().Select(m => m.Id).ToArray());
        Assert.Equal(AckStatus.Acked, ack.Status);
        Assert.True(store.TryGetListing(aid, out listing));
        Assert.Equal(0, listing.PendingMessages);
        Assert.Equal(0, listing.PendingBytes);
    }
}
