namespace EdgeRelay.Storage.Faster.Tests;

public sealed class PendingQueueTests
{
    private static PendingEntry Message(long id) => new(id, (int)(id % 100), id * 10);

    private static long[] Ids(PendingQueue queue)
    {
        var buffer = new PendingMessage[queue.Count];
        var n = queue.CopyCommitted(-1, long.MaxValue, buffer);
        return buffer[..n].Select(m => m.Id.Value).ToArray();
    }

    [Fact]
    public void Removal_with_holes_keeps_order_across_the_ring_wrap()
    {
        var queue = new PendingQueue();
        for (var id = 1; id <= 8; id++)
        {
            queue.Append(Message(id));
        }

        // Drain the head, then append past the end of the 8-slot array so the ring wraps.
        Assert.Equal(3, queue.Remove([1, 2, 3], out _));
        for (var id = 9; id <= 11; id++)
        {
            queue.Append(Message(id));
        }

        Assert.Equal(8, queue.Capacity);
        Assert.Equal(3, queue.Remove([5, 9, 11, 42], out var bytes)); // 42 is not pending: ignored
        Assert.Equal(5 + 9 + 11, bytes);
        Assert.Equal(new long[] { 4, 6, 7, 8, 10 }, Ids(queue));
        Assert.Equal(4, queue.OldestId);
        Assert.True(queue.ContainsCommitted(10, committedUntil: 11));
        Assert.False(queue.ContainsCommitted(10, committedUntil: 10));
        Assert.False(queue.ContainsCommitted(5, committedUntil: long.MaxValue));
    }

    [Fact]
    public void Copy_stops_at_the_committed_address_and_resumes_after_a_cursor()
    {
        var queue = new PendingQueue();
        for (var id = 10; id <= 50; id += 10)
        {
            queue.Append(Message(id));
        }

        var buffer = new PendingMessage[10];
        Assert.Equal(3, queue.CopyCommitted(-1, committedUntil: 31, buffer));
        Assert.Equal(2, queue.CopyCommitted(afterId: 20, committedUntil: 45, buffer));
        Assert.Equal(new long[] { 30, 40 }, buffer[..2].Select(m => m.Id.Value));
        Assert.Equal(0, queue.CopyCommitted(afterId: long.MaxValue, long.MaxValue, buffer));
        Assert.Equal(2, queue.CopyCommitted(-1, long.MaxValue, buffer.AsSpan(0, 2)));
    }

    [Fact]
    public void Trim_keeps_a_ring_that_refills_every_interval_and_frees_an_idle_one()
    {
        var queue = new PendingQueue();
        var ids = Enumerable.Range(1, 1000).Select(i => (long)i).ToArray();
        foreach (var id in ids)
        {
            queue.Append(Message(id));
        }

        Assert.Equal(1000, queue.Remove(ids, out _));
        queue.TrimExcess(); // drained, but it held 1,000 during this interval
        Assert.Equal(1024, queue.Capacity);

        queue.TrimExcess(); // a whole interval without traffic
        Assert.Equal(0, queue.Capacity);
        Assert.Equal(long.MaxValue, queue.OldestId);
        queue.Append(Message(2000));
        Assert.Equal(new long[] { 2000 }, Ids(queue));
    }

    [Fact]
    public void An_empty_queue_holds_no_array_and_a_small_ring_is_freed_after_an_idle_interval()
    {
        var queue = new PendingQueue();
        Assert.Equal(0, queue.Capacity);
        queue.TrimExcess();
        Assert.Equal(0, queue.Capacity);

        queue.Append(Message(1));
        Assert.Equal(8, queue.Capacity);
        Assert.Equal(1, queue.Remove([1], out _));
        queue.TrimExcess(); // it held a message during this interval: kept
        Assert.Equal(8, queue.Capacity);
        queue.TrimExcess(); // nothing during this one: freed, however small
        Assert.Equal(0, queue.Capacity);
        Assert.Equal(0, queue.Count);
        Assert.Equal(0, queue.Bytes);
    }
    [Fact]
    public void Counting_the_old_part_stops_at_the_budget_and_at_the_first_message_past_it()
    {
        var queue = new PendingQueue();
        for (var id = 1; id <= 1000; id++)
        {
            queue.Append(new PendingEntry(id * 100, 67, 0)); // 33 + 67 = 100 log bytes each as a moved record
        }

        // Everything below location 50,100 (ids 100..50,000: 500 messages) is 50,000 bytes.
        Assert.Equal(50_000, queue.SumLocatedBelow(50_100, long.MaxValue));

        // A budget of 1,000 bytes is passed after 11 messages: the count stops there.
        Assert.Equal(1_100, queue.SumLocatedBelow(50_100, 1_000));

        var into = new List<PendingEntry>();
        queue.CopyLocatedBelow(50_100, into, max: 7);
        Assert.Equal(new long[] { 100, 200, 300, 400, 500, 600, 700 }, into.Select(m => m.Id));

        into.Clear();
        queue.CopyLocatedBelow(50_100, into, max: int.MaxValue);
        Assert.Equal(500, into.Count);
    }

    [Fact]
    public void With_a_moved_message_the_old_part_is_found_past_newer_ones()
    {
        var queue = new PendingQueue();
        for (var id = 1; id <= 10; id++)
        {
            queue.Append(new PendingEntry(id * 100, 67, 0));
        }

        // Message 200 was copied forward to 5,000: the old part below 450 holds 100, 300 and 400 only,
        // and a scan that stopped at 500 would miss nothing; one that stopped at 200's new place would.
        Assert.True(queue.TryRelocate(200, 200, 5_000));
        Assert.Equal(300, queue.SumLocatedBelow(450, long.MaxValue));
        Assert.Equal(100, queue.SumLocatedBelow(150, long.MaxValue));
        var into = new List<PendingEntry>();
        queue.CopyLocatedBelow(5_001, into, max: int.MaxValue);
        Assert.Equal(10, into.Count);
    }
    /// <summary>
    /// Random appends, acks (from the head and with holes), relocations and trims across the switch from one
    /// array to chunks and across chunked growth while the ring wraps, checked against a plain list.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Matches_a_plain_list_through_growth_into_chunks_wraps_and_trims(int seed)
    {
        var random = new Random(seed);
        var queue = new PendingQueue();
        var model = new List<PendingEntry>();
        long nextId = 1;
        var buffer = new PendingMessage[5 * PendingQueue.ChunkSize];
        for (var step = 0; step < 400; step++)
        {
            var appends = random.Next(0, 3 * PendingQueue.ChunkSize / 2);
            for (var i = 0; i < appends; i++)
            {
                var message = new PendingEntry(nextId, (int)(nextId % 1000), nextId * 3);
                nextId += random.Next(1, 4);
                queue.Append(message);
                model.Add(message);
            }

            if (model.Count > 0)
            {
                // Mostly the oldest (an owner acking in order), sometimes scattered ids (holes).
                var take = random.Next(0, Math.Min(model.Count, 2 * PendingQueue.ChunkSize) + 1);
                var ids = random.Next(4) == 0
                    ? model.Where(_ => random.Next(3) == 0).Take(take).Select(m => m.Id).ToArray()
                    : model.Take(take).Select(m => m.Id).ToArray();
                Assert.Equal(ids.Length, queue.Remove(ids, out var removedBytes));
                Assert.Equal(model.Where(m => ids.Contains(m.Id)).Sum(m => (long)m.Length), removedBytes);
                model.RemoveAll(m => ids.Contains(m.Id));
            }

            if (model.Count > 0 && random.Next(5) == 0)
            {
                var i = random.Next(model.Count);
                Assert.True(queue.TryRelocate(model[i].Id, model[i].Location, nextId + 1_000_000));
                model[i] = model[i] with { Location = nextId + 1_000_000 };
            }

            if (random.Next(10) == 0)
            {
                queue.TrimExcess();
            }

            Assert.Equal(model.Count, queue.Count);
            Assert.Equal(model.Sum(m => (long)m.Length), queue.Bytes);
            Assert.Equal(model.Count == 0 ? long.MaxValue : model[0].Id, queue.OldestId);
            var n = queue.CopyCommitted(-1, long.MaxValue, buffer);
            Assert.Equal(model.Take(buffer.Length).Select(m => m.ToPendingMessage()), buffer[..n]);
            if (model.Count > 0)
            {
                var probe = model[random.Next(model.Count)];
                Assert.True(queue.TryGet(probe.Id, out var found));
                Assert.Equal(probe, found);
            }
        }

        Assert.True(nextId > 8 * PendingQueue.ChunkSize, "the run grew past several chunks");
    }
}
