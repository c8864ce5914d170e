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
        var appended = addresses.ToDictionary(a => a, _ => new List<(MessageId Id, byte[] Payload)>());
        for (var i = 0; i < 40; i++)
        {
            var aid = addresses[i % 2];
            var payload = Payload(i, 50 + (i * 13));
            appended[aid].Add((Append(storage, aid, payload).Id, payload));
        }

        await FlushAsync(storage);
        var expected = new Dictionary<AddressId, List<(MessageId Id, byte[] Payload)>>();
        foreach (var aid in addresses)
        {
            var listed = PendingIds(storage, aid);
            AssertAppendIds(appended[aid].Select(m => m.Id), listed);
            expected[aid] = listed.Zip(appended[aid], (id, m) => (id, m.Payload)).ToList();
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

            var last = expected[addresses[0]][^1].Id;
            var next = Append(storage, addresses[0], Payload(99, 10)).Id;
            await FlushAsync(storage);
            var listed = PendingIds(storage, addresses[0]);
            Assert.Equal(expected[addresses[0]].Count + 1, listed.Length);
            Assert.True(listed[^1] > last, "ids continue upwards after a restart");
            AssertAppendIds([next], listed[^1..]);
        }
    }

    [Fact]
    public async Task A_crash_keeps_every_durable_write_and_loses_only_writes_that_were_never_durable()
    {
        var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var appended = Enumerable.Range(0, 4).Select(i => Append(storage, aid, Payload(i, 100)).Id).ToArray();
        await FlushAsync(storage);
        var durable = PendingIds(storage, aid);
        AssertAppendIds(appended, durable);
        var durableAck = await storage.AckAsync(aid, new[] { durable[0] });
        await storage.WaitDurableAsync(durableAck.Ticket, Deadline());

        // After the last flush: two appends, an ack and a new address, none of them promised to anyone.
        byte[][] unflushedPayloads = [Payload(10, 100), Payload(11, 100)];
        var unflushed = unflushedPayloads.Select(payload => Append(storage, aid, payload).Id).ToArray();
        if (Backend.IdsKnownAtAppend)
        {
            Assert.True(durable[^1] < unflushed[0] && unflushed[0] < unflushed[1], "ids increase in append order");
        }
        else
        {
            Assert.All(unflushed, id => Assert.Equal(MessageId.None, id));
        }

        Assert.Equal(AckStatus.Acked, (await storage.AckAsync(aid, new[] { durable[1] })).Status);
        var lostAddress = AddressId.NewRandom();
        var created = await storage.CreateAddressAsync(lostAddress, Key(5), Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        Assert.False(storage.IsDurable(created));

        await using (storage = await Backend.CrashAndReopenAsync(storage))
        {
            await FlushAsync(storage);
            var messages = Pending(storage, aid);
            var pending = messages.Select(m => m.Id).ToArray();

            async Task<byte[]> ReadBackAsync(PendingMessage message)
            {
                var buffer = new byte[message.Length];
                Assert.Equal(message.Length, await storage.ReadAsync(aid, message, buffer, Deadline()));
                return buffer;
            }

            // Durable: the acked message stays gone, the others stay.
            Assert.DoesNotContain(durable[0], pending);
            foreach (var (id, seed) in new[] { (durable[2], 2), (durable[3], 3) })
            {
                Assert.Equal(Payload(seed, 100), await ReadBackAsync(Assert.Single(messages, m => m.Id == id)));
            }

            // Anything else listed is a write that was made: one of the durable messages (its undurable ack
            // lost), or an unflushed append that survived, in append order and under the id its append
            // returned when the backend returns ids there.
            Assert.All(pending.Where(id => id <= durable[^1]), id => Assert.Contains(id, durable[1..]));
            var survivors = new List<int>();
            foreach (var message in messages.Where(m => m.Id > durable[^1]))
            {
                var payload = await ReadBackAsync(message);
                var which = Array.FindIndex(unflushedPayloads, p => p.AsSpan().SequenceEqual(payload));
                Assert.True(which >= 0, "only an unflushed append can follow the durable messages");
                if (Backend.IdsKnownAtAppend)
                {
                    Assert.Equal(unflushed[which], message.Id);
                }

                survivors.Add(which);
            }

            Assert.True(survivors.Zip(survivors.Skip(1)).All(pair => pair.First < pair.Second), "survivors once each, in append order");

            if (Backend.CrashLosesUndurableWrites)
            {
                Assert.Equal(durable[1..], pending);
                Assert.False(storage.TryGetAddress(lostAddress, out _));
            }
        }
    }
}
