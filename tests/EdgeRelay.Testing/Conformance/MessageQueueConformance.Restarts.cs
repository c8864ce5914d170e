using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

// What a restart and a crash keep of a queue: every durable write, no acknowledged message, nothing undurable.
public abstract partial class MessageQueueConformance
{
    [Fact]
    public async Task A_restart_keeps_every_durable_message_and_no_acknowledged_one_and_ids_keep_increasing()
    {
        var storage = await Backend.OpenAsync();
        var addresses = new[] { await CreateAddressAsync(storage), await CreateAddressAsync(storage, seed: 2) };
        var expected = addresses.ToDictionary(a => a, _ => new List<(MessageId Id, byte[] Payload)>());
        for (var i = 0; i < 40; i++)
        {
            var aid = addresses[i % 2];
            var payload = Payload(i, 50 + (i * 13));
            expected[aid].Add((Append(storage, aid, payload).Id, payload));
        }

        await FlushAsync(storage);
        foreach (var aid in addresses)
        {
            var acked = expected[aid].Where((_, i) => i % 3 == 0).Select(m => m.Id).ToArray();
            Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, acked)).Status);
            expected[aid].RemoveAll(m => acked.Contains(m.Id));
        }

        var before = storage.GetStatistics();
        await storage.DisposeAsync();

        await using (storage = await Backend.OpenAsync())
        {
            var after = storage.GetStatistics();
            Assert.Equal((before.Addresses, before.PendingMessages, before.PendingBytes), (after.Addresses, after.PendingMessages, after.PendingBytes));
            foreach (var aid in addresses)
            {
                Assert.Equal(expected[aid].Select(m => m.Id), PendingIds(storage, aid));
                Assert.Equal(expected[aid].Select(m => m.Payload), await ReadAllAsync(storage, aid));
            }

            var next = Append(storage, addresses[0], Payload(99, 10)).Id;
            Assert.True(next > expected[addresses[0]][^1].Id, "ids continue upwards after a restart");
        }
    }

    [Fact]
    public async Task A_crash_keeps_every_durable_write_and_loses_only_writes_that_were_never_durable()
    {
        var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var durable = Enumerable.Range(0, 4).Select(i => Append(storage, aid, Payload(i, 100)).Id).ToArray();
        await FlushAsync(storage);
        var durableAck = await storage.AckAsync(aid, new[] { durable[0] });
        await storage.WaitDurableAsync(durableAck.Ticket, Deadline());

        // After the last flush: two appends, an ack and a new address, none of them promised to anyone.
        var unflushed = new[] { Append(storage, aid, Payload(10, 100)).Id, Append(storage, aid, Payload(11, 100)).Id };
        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, new[] { durable[1] })).Status);
        var lostAddress = AddressId.NewRandom();
        var created = await storage.CreateAddressAsync(lostAddress, Key(5), Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        Assert.False(storage.IsDurable(created));

        await using (storage = await Backend.CrashAndReopenAsync(storage))
        {
            await FlushAsync(storage);
            var pending = PendingIds(storage, aid);

            // Durable: the acked message stays gone, the others stay.
            Assert.DoesNotContain(durable[0], pending);
            var messages = Pending(storage, aid);
            foreach (var (id, seed) in new[] { (durable[2], 2), (durable[3], 3) })
            {
                var message = Assert.Single(messages, m => m.Id == id);
                var buffer = new byte[message.Length];
                Assert.Equal(100, await storage.ReadAsync(aid, message, buffer, Deadline()));
                Assert.Equal(Payload(seed, 100), buffer);
            }

            if (Backend.CrashLosesUndurableWrites)
            {
                Assert.Equal(durable[1..], pending);
                Assert.False(storage.TryGetAddress(lostAddress, out _));
            }
        }
    }
}
