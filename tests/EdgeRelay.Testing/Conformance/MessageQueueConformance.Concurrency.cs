using System.Buffers.Binary;
using System.Collections.Concurrent;
using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

// Many writers at once: every queue complete and in order, and a reader following with a cursor misses nothing.
public abstract partial class MessageQueueConformance
{
    [Fact]
    public async Task Concurrent_writers_keep_every_queue_ordered_and_complete_and_a_cursor_misses_nothing()
    {
        const int Writers = 4;
        const int PerWriter = 1200;
        await using var storage = await Backend.OpenAsync();
        var shared = new[] { await CreateAddressAsync(storage), await CreateAddressAsync(storage, seed: 2) };
        var own = new AddressId[Writers];
        for (var w = 0; w < Writers; w++)
        {
            own[w] = await CreateAddressAsync(storage, seed: 10 + w);
        }

        var appended = new ConcurrentDictionary<AddressId, ConcurrentBag<(int Writer, int Index, MessageId Id)>>();
        var ct = Deadline();
        var writing = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                // Two thirds to the shared addresses, one third to the writer's own.
                var aid = (i % 3) switch { 0 => shared[0], 1 => shared[1], _ => own[w] };
                var (id, _) = await AppendAsync(storage, aid, Tagged(w, i));
                appended.GetOrAdd(aid, _ => []).Add((w, i, id));
                if (i % 100 == 0)
                {
                    storage.RequestFlush();
                }
            }
        }, ct)).ToArray();

        // A reader follows shared[0] with a cursor while the writers run, as a delivery session would: if ids
        // could appear behind the cursor, it would miss them.
        var expectedShared0 = Writers * PerWriter / 3;
        var reader = Task.Run(async () =>
        {
            var seen = new List<MessageId>();
            var page = new PendingMessage[256];
            var after = MessageId.None;
            while (seen.Count < expectedShared0)
            {
                ct.ThrowIfCancellationRequested();
                var n = storage.GetPending(shared[0], after, page);
                if (n == 0)
                {
                    await storage.FlushAsync().WaitAsync(ct);
                    continue;
                }

                seen.AddRange(page[..n].Select(p => p.Id));
                after = page[n - 1].Id;
            }

            return seen;
        }, ct);

        await Task.WhenAll(writing).WaitAsync(ct);
        await FlushAsync(storage);
        var cursorSeen = await reader.WaitAsync(ct);

        foreach (var aid in shared.Concat(own))
        {
            var pending = PendingIds(storage, aid);
            Assert.True(pending.Zip(pending.Skip(1)).All(pair => pair.First < pair.Second), "ids strictly increase");

            // Complete and nothing else: what reads back is, as a multiset, exactly what was appended (every
            // payload is unique, so a lost, doubled or foreign message shows).
            var read = await ReadAllAsync(storage, aid);
            Assert.Equal(
                appended[aid].Select(a => Convert.ToHexString(Tagged(a.Writer, a.Index))).Order(StringComparer.Ordinal),
                read.Select(Convert.ToHexString).Order(StringComparer.Ordinal));

            // One writer's appends follow each other, so they are listed in that order among the others.
            foreach (var writer in read.Select(TagOf).GroupBy(tag => tag.Writer))
            {
                Assert.Equal(writer.Select(tag => tag.Index).Order(), writer.Select(tag => tag.Index));
            }

            AssertAppendIds(appended[aid].Select(a => a.Id).Order(), pending);
        }

        Assert.Equal(PendingIds(storage, shared[0]), cursorSeen);
        Assert.Equal(Writers * PerWriter, storage.GetStatistics().PendingMessages);
    }

    /// <summary>A payload unique to one append of one writer: the writer and the index lead it.</summary>
    private static byte[] Tagged(int writer, int index)
    {
        var payload = Payload(index, 64);
        BinaryPrimitives.WriteInt32LittleEndian(payload, writer);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), index);
        return payload;
    }

    private static (int Writer, int Index) TagOf(byte[] payload) =>
        (BinaryPrimitives.ReadInt32LittleEndian(payload), BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4)));
}
