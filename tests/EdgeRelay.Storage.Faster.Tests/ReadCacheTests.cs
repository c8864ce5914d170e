using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// The memory mirror of recent message records (<c>RecentRecords</c>): reads of recent messages come from
/// memory, older ones from the device, and either way the bytes are the message's own.
/// </summary>
public sealed class ReadCacheTests
{
    [Fact]
    public async Task A_recent_message_is_read_from_memory_and_an_overwritten_one_from_the_device()
    {
        using var dir = new TempDirectory();
        var time = Clock();

        // 64 KiB pages, a 128 KiB mirror: it holds the newest ~64 KiB of the log.
        await using var store = await OpenAsync(dir, time, o => o.ReadCacheSizeBits = 17);
        var aid = await CreateAddressAsync(store, time);
        const int Count = 400; // 400 × ~1 KiB: the first ones are long gone from the mirror
        for (var i = 0; i < Count; i++)
        {
            Append(store, aid, Payload(i, 1000 + i));
        }

        await CommitAllAsync(store);
        var pending = Pending(store, aid);
        Assert.Equal(Count, pending.Length);

        var buffer = new byte[4096];
        var before = store.GetStatistics();
        var n = await store.ReadAsync(aid, pending[^1], buffer, Timeout());
        Assert.Equal(Payload(Count - 1, 1000 + Count - 1), buffer[..n]);
        var afterNewest = store.GetStatistics();
        Assert.Equal(before.MemoryReads + 1, afterNewest.MemoryReads);
        Assert.Equal(before.DeviceReads, afterNewest.DeviceReads);

        n = await store.ReadAsync(aid, pending[0], buffer, Timeout());
        Assert.Equal(Payload(0, 1000), buffer[..n]);
        var afterOldest = store.GetStatistics();
        Assert.Equal(afterNewest.DeviceReads + 1, afterOldest.DeviceReads);
        Assert.Equal(afterNewest.MemoryReads, afterOldest.MemoryReads);

        // Every message, wherever it is read from, is its own bytes.
        for (var i = 0; i < Count; i++)
        {
            n = await store.ReadAsync(aid, pending[i], buffer, Timeout());
            Assert.Equal(Payload(i, 1000 + i), buffer[..n]);
        }

        var end = store.GetStatistics();
        Assert.True(end.MemoryReads - afterOldest.MemoryReads > 20, $"{end.MemoryReads - afterOldest.MemoryReads} of the newest messages read from memory");
        Assert.True(end.DeviceReads - afterOldest.DeviceReads > 300, $"{end.DeviceReads - afterOldest.DeviceReads} of the oldest read from the device");
    }

    [Fact]
    public async Task Off_every_read_goes_to_the_device()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.ReadCacheSizeBits = 0);
        var aid = await CreateAddressAsync(store, time);
        Append(store, aid, Payload(7, 700));
        await CommitAllAsync(store);

        var buffer = new byte[4096];
        var n = await store.ReadAsync(aid, Pending(store, aid)[0], buffer, Timeout());

        Assert.Equal(Payload(7, 700), buffer[..n]);
        Assert.Equal(0, store.GetStatistics().MemoryReads);
        Assert.Equal(1, store.GetStatistics().DeviceReads);
    }

    [Fact]
    public async Task After_a_restart_messages_of_the_previous_run_come_from_the_device_and_new_ones_from_memory()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        await using (var first = await OpenAsync(dir, time))
        {
            aid = await CreateAddressAsync(first, time);
            Append(first, aid, Payload(1, 900));
            await CommitAllAsync(first);
        }

        await using var second = await OpenAsync(dir, time);
        Append(second, aid, Payload(2, 901));
        await CommitAllAsync(second);
        var pending = Pending(second, aid);
        Assert.Equal(2, pending.Length);

        var buffer = new byte[4096];
        var n = await second.ReadAsync(aid, pending[0], buffer, Timeout());
        Assert.Equal(Payload(1, 900), buffer[..n]);
        Assert.Equal((0L, 1L), (second.GetStatistics().MemoryReads, second.GetStatistics().DeviceReads));

        n = await second.ReadAsync(aid, pending[1], buffer, Timeout());
        Assert.Equal(Payload(2, 901), buffer[..n]);
        Assert.Equal((1L, 1L), (second.GetStatistics().MemoryReads, second.GetStatistics().DeviceReads));
    }

    /// <summary>
    /// Readers chase a writer around a mirror of two pages, so spans are overwritten while they are being
    /// copied: a reader must either get the message's own bytes or fall back to the device, never a mix.
    /// </summary>
    [Fact]
    public async Task Readers_racing_a_writer_that_laps_the_mirror_only_ever_see_each_message_own_bytes()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.ReadCacheSizeBits = 17);
        var aid = await CreateAddressAsync(store, time);
        const int Messages = 2400;
        const int Size = 512;
        var committed = new PendingMessage[Messages];
        var published = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Messages; i++)
            {
                Append(store, aid, Stamped(i));
                if (i % 32 == 31)
                {
                    await CommitAllAsync(store);
                    // Each batch is acked below, so what is pending is exactly this batch, in order.
                    var pending = Pending(store, aid);
                    Assert.Equal(32, pending.Length);
                    for (var k = 0; k < pending.Length; k++)
                    {
                        committed[i + 1 - pending.Length + k] = pending[k];
                    }

                    Volatile.Write(ref published, i + 1);

                    // Acked messages leave the index, so the next Pending call stays short.
                    var ack = await store.AckAsync(aid, pending.Select(p => p.Id).ToArray());
                    Assert.Equal(AckStatus.Acked, ack.Status);
                    await store.WaitForCommitAsync(ack.Ticket, cts.Token);
                }
            }
        });

        // Acked messages are still in the log (and, while recent, in the mirror), so they can still be read
        // by location: that is what lets the readers keep racing the writer here.
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            var buffer = new byte[Size];
            var reads = 0;
            while (!writer.IsCompleted)
            {
                var upTo = Volatile.Read(ref published);
                if (upTo == 0)
                {
                    Thread.Yield();
                    continue;
                }

                // The newest 400 messages (~210 KiB of log): the writer laps the 128 KiB mirror in that span.
                var i = Math.Max(0, upTo - 1 - (reads % 400));
                var message = committed[i];
                var n = await store.ReadAsync(aid, message, buffer, cts.Token);
                Assert.Equal(Size, n);
                Assert.True(buffer.AsSpan().SequenceEqual(Stamped(i)), $"message {i}: torn or wrong bytes");
                reads++;

                // Two spinning readers on a two-core machine would starve the writer's commits.
                Thread.Yield();
            }

            return reads;
        })).ToArray();

        await writer;
        var reads = await Task.WhenAll(readers);
        var stats = store.GetStatistics();
        Assert.True(reads.Sum() > 100, $"{reads.Sum()} reads");
        Assert.True(stats.MemoryReads > 0, "some reads were served from memory");
        return;

        static byte[] Stamped(int i)
        {
            // Filled with the Message record kind, so that any stale position inside an old payload looks
            // like the start of a message record: only the tail check can tell it is not this message.
            var payload = new byte[Size];
            payload.AsSpan().Fill((byte)LogRecordKind.Message);
            BitConverter.TryWriteBytes(payload, i);
            BitConverter.TryWriteBytes(payload.AsSpan(Size - 4), i);
            return payload;
        }
    }
    [Fact]
    public void An_index_entry_and_a_listed_message_stay_32_bytes()
    {
        Assert.Equal(32, System.Runtime.CompilerServices.Unsafe.SizeOf<PendingEntry>());
        Assert.Equal(32, System.Runtime.CompilerServices.Unsafe.SizeOf<PendingMessage>());
    }

    /// <summary>
    /// What a writer stalled past a whole lap of the mirror would leave: another record's bytes over this
    /// message's span while the log's tail still says the span is current. The hash taken on SEND catches
    /// it, and the read goes to the device. The store's parts are wired here by hand, over a log of the
    /// test's own, so that the test can reach the mirror to damage it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_mirror_span_overwritten_behind_the_tail_check_is_never_delivered(bool wholeRecord)
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var options = Options(dir.Path);
        await using var parts = await StoreParts.OpenAsync(options, time);
        var aid = AddressId.NewRandom();
        await parts.Log.WaitForCommitAsync(await parts.Registry.CreateAsync(aid, Key(1), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds(), Timeout()), Timeout());
        Assert.Equal(AppendStatus.Appended, parts.Ingest.TryAppend(aid, Payload(1, 1000), out _));
        await parts.Committer.CommitAsync().WaitAsync(Timeout());
        var listed = new PendingMessage[1];
        Assert.Equal(1, parts.Reader.GetPending(aid, MessageId.None, listed));
        var message = listed[0];

        var span = parts.Mirror.SpanFor(message.ReadHint, LogRecords.MessageHeaderSize + message.Length);
        if (wholeRecord)
        {
            // A well-formed record of the same address and size, other bytes.
            LogRecords.WriteMessageHeader(span, aid, message.ReceivedAtUnixMs);
            Payload(2, 1000).CopyTo(span[LogRecords.MessageHeaderSize..]);
        }
        else
        {
            span[(LogRecords.MessageHeaderSize + 500)..].Fill(0x5A); // the tail end of the ciphertext
        }

        var buffer = new byte[1000];
        var n = await parts.Reader.ReadAsync(aid, message, buffer, Timeout());

        Assert.Equal(Payload(1, 1000), buffer[..n]);
        Assert.Equal((0L, 1L), (parts.Mirror.Hits, parts.Counters.DeviceReads));
    }
}
