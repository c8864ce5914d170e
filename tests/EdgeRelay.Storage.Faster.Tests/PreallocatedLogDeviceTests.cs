using System.Runtime.InteropServices;
using EdgeRelay.Testing;
using FASTER.core;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// The store's own log device: segments zero-filled ahead of the log in the background, writes made durable
/// with fdatasync. The zeros must never land on a record, and recovery, the verifier and the backup must read
/// zeroed space past the last record as "nothing written".
/// </summary>
public sealed class PreallocatedLogDeviceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Zero_filling_runs_beside_writes_at_random_offsets_and_never_overwrites_one(int seed)
    {
        using var dir = new TempDirectory();
        const int segmentSize = 4 * PreallocatedLogDevice.ZeroChunk;
        var random = new Random(seed);
        // Segment 2 is never written: the zero-filler starts on it once segment 1 is written to.
        var expected = new[] { new byte[segmentSize], new byte[segmentSize], new byte[segmentSize] };
        var furthest = 0L;
        using (var device = new PreallocatedLogDevice(dir.Combine("relay.log")))
        {
            device.Initialize(segmentSize);

            // Writes far ahead first, then behind them, then in between, all while the zero-filler (started by
            // the first write) works through the same segment: every order the log's page flushes can take.
            var writes = new List<Task>();
            var inFlight = new List<(int Segment, int Start, int End)>();
            for (var i = 0; i < 64; i++)
            {
                var segment = i < 48 ? 0 : 1;
                var length = random.Next(1, 64) * 512;
                int offset;
                do
                {
                    offset = random.Next(0, (segmentSize - length) / 512) * 512;
                }
                while (inFlight.Exists(w => w.Segment == segment && offset < w.End && w.Start < offset + length));

                inFlight.Add((segment, offset, offset + length));
                var data = new byte[length];
                random.NextBytes(data);
                data.CopyTo(expected[segment], offset);
                furthest = Math.Max(furthest, ((long)segment * segmentSize) + offset + length);
                writes.Add(WriteAsync(device, segment, offset, data));
                if (i % 8 == 7)
                {
                    // Overlapping writes in flight at once would race each other, not the zeros: FASTER never
                    // issues two writes to the same bytes concurrently, so neither does this test (the offsets
                    // above are drawn again while they overlap a write of the same batch).
                    await Eventually.Within(Task.WhenAll(writes), "the writes to complete");
                    writes.Clear();
                    inFlight.Clear();
                }
            }

            await Eventually.Within(Task.WhenAll(writes), "the writes to complete");
            await Eventually.Within(device.CatchUpZerosAsync(), "the zero-filler to catch up");
            // The window is capped at a segment: zeros one segment's length past the furthest write.
            Assert.Equal(furthest + segmentSize, device.ZeroedUntil);
        }

        for (var segment = 0; segment < 3; segment++)
        {
            var path = dir.Combine("relay.log." + segment);
            var file = await File.ReadAllBytesAsync(path);
            Assert.Equal(Math.Min(segmentSize, furthest + segmentSize - ((long)segment * segmentSize)), file.Length); // preallocated that far
            Assert.True(expected[segment].AsSpan(0, file.Length).SequenceEqual(file), $"segment {segment} holds exactly the writes, and zeros elsewhere");
        }
    }

    [Fact]
    public async Task The_filler_is_one_thread_woken_about_once_per_chunk_of_log_not_once_per_write()
    {
        using var dir = new TempDirectory();
        const int segmentSize = 16 * PreallocatedLogDevice.ZeroChunk;
        const int writeSize = 64 * 1024; // a commit's worth: 16 of them to a chunk
        using var device = new PreallocatedLogDevice(dir.Combine("relay.log"));
        device.Initialize(segmentSize);
        var data = new byte[writeSize];
        var writes = 8 * PreallocatedLogDevice.ZeroChunk / writeSize;
        for (var i = 0; i < writes; i++)
        {
            await Eventually.Within(WriteAsync(device, 0, i * writeSize, data), "the write to complete");
        }

        await Eventually.Within(device.CatchUpZerosAsync(), "the zero-filler to catch up");
        Assert.Equal(1, device.FillerThreads);

        // The first write wakes it for a segment of zeros; each chunk of log after that at most once more, and
        // the catch-up once: 8 chunks of log in 128 writes.
        Assert.InRange(device.FillerPasses, 1, 1 + 8 + 1);
        Assert.Equal((long)writes * writeSize + segmentSize, device.ZeroedUntil);
    }

    [Fact]
    public async Task Zero_filling_leaves_an_earlier_run_s_records_alone()
    {
        using var dir = new TempDirectory();
        const int segmentSize = 2 * PreallocatedLogDevice.ZeroChunk;
        var earlier = new byte[300_000];
        new Random(7).NextBytes(earlier);
        await File.WriteAllBytesAsync(dir.Combine("relay.log.0"), earlier); // FASTER's own device leaves files this long

        using (var device = new PreallocatedLogDevice(dir.Combine("relay.log")))
        {
            device.Initialize(segmentSize);
            var more = new byte[4096];
            new Random(8).NextBytes(more);
            await WriteAsync(device, 0, 1 << 19, more);
            await Eventually.Within(device.CatchUpZerosAsync(), "the zero-filler to catch up");
            var file = await File.ReadAllBytesAsync(dir.Combine("relay.log.0"));
            Assert.Equal(segmentSize, file.Length);
            Assert.True(file.AsSpan(0, earlier.Length).SequenceEqual(earlier), "the earlier run's bytes are untouched");
            Assert.True(file.AsSpan(1 << 19, more.Length).SequenceEqual(more));
        }
    }

    [Fact]
    public async Task A_log_with_zeroed_space_past_its_last_record_reopens_whole_verifies_clean_and_keeps_appending()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        void Small(FasterStorageOptions o) => o.SegmentSizeBits = 18;
        var ids = new List<(long Id, byte[] Payload)>();
        AddressId aid;
        await using (var store = await OpenAsync(dir, time, Small))
        {
            aid = await CreateAddressAsync(store, time);
            for (var i = 0; i < 400; i++)
            {
                var payload = Payload(i, 1000 + (i % 7 * 300));
                ids.Add((Append(store, aid, payload), payload));
            }

            await CommitAllAsync(store);
        }

        // Whatever the zero-filler had reached when the store closed, make it the worst case: the newest
        // segment zeroed to its full size and the next one present, all zeros.
        var segments = dir.SegmentFiles().Select(f => int.Parse(Path.GetExtension(f)[1..], System.Globalization.CultureInfo.InvariantCulture)).Order().ToArray();
        Assert.True(segments.Length >= 3, $"the log spans several segments ({segments.Length})");
        var last = segments[^1];
        foreach (var segment in new[] { last, last + 1 })
        {
            await using var file = new FileStream(dir.Combine("log", "relay.log." + segment), FileMode.OpenOrCreate, FileAccess.Write);
            file.SetLength(1 << 18);
        }

        var options = Options(dir.Path, Small);
        for (var round = 0; round < 2; round++)
        {
            await using (var store = await OpenAsync(dir, time, Small))
            {
                var pending = Pending(store, aid);
                Assert.Equal(ids.Select(m => m.Id), pending.Select(m => m.Id.Value));
                foreach (var (message, (_, payload)) in pending.Zip(ids))
                {
                    Assert.Equal(payload, await ReadAsync(store, aid, message));
                }

                for (var i = 0; i < 100; i++)
                {
                    var payload = Payload(1000 + i, 2000);
                    ids.Add((Append(store, aid, payload), payload));
                }

                await CommitAllAsync(store);
            }

            var report = ScanLog(options);
            Assert.True(report.IsClean, report.Describe(dir.Path));
            Assert.False(report.HasTail, "nothing uncommitted: the zeros are not read as a tail");
        }
    }

    private static LogTailReport ScanLog(FasterStorageOptions options)
    {
        var logDirectory = FasterLogSetup.LogDirectory(options.DataDirectory);
        using var device = FasterLogSetup.CreateDevice(options.DataDirectory);
        using var commits = FasterLogSetup.CreateCommitManager(logDirectory);
        using var settings = FasterLogSetup.CreateSettings(device, commits, logDirectory, options.PageSizeBits, options.MemorySizeBits, options.SegmentSizeBits);
        using var log = new FasterLog(settings);
        return LogVerifier.Scan(options.DataDirectory, options.PageSizeBits, options.SegmentSizeBits, log.BeginAddress, log.CommittedUntilAddress);
    }

    private static Task WriteAsync(PreallocatedLogDevice device, int segment, long offset, byte[] data)
    {
        var memory = Marshal.AllocHGlobal(data.Length);
        Marshal.Copy(data, 0, memory, data.Length);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        device.WriteAsync(memory, segment, (ulong)offset, (uint)data.Length, (error, written, _) =>
        {
            Marshal.FreeHGlobal(memory);
            if (error != 0 || written != data.Length)
            {
                done.SetException(new IOException($"write failed: error {error}, {written} of {data.Length} bytes"));
            }
            else
            {
                done.SetResult();
            }
        }, null!);
        return done.Task;
    }
}
