using System.Buffers.Binary;
using System.Globalization;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;
using Microsoft.Extensions.Time.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// A damaged log either gives back every acknowledged record or refuses to open, loudly, naming the folder
/// and the log address; it never serves a corrupt record, and never opens over lost acknowledged records to
/// overwrite them. What a crash leaves past the last commit (a write cut short) is dropped, and only that.
/// </summary>
public sealed class IntegrityTests : IDisposable
{
    private const int PageBits = 16;
    private const int SegmentBits = 22;
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = Clock();

    public void Dispose() => _dir.Dispose();

    private static void Small(FasterStorageOptions o)
    {
        o.PageSizeBits = PageBits;
        o.MemorySizeBits = 20;
        o.SegmentSizeBits = SegmentBits;
    }

    [Fact]
    public async Task A_log_cut_inside_a_committed_record_refuses_to_open_naming_the_folder_and_changes_nothing()
    {
        var (_, acknowledged) = await WriteAcknowledgedAsync(messages: 120);
        var (path, offset) = Locate(acknowledged[^1]);
        var cut = offset + 12 + 37; // inside the last acknowledged message, off any sector boundary
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, cut);
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, Small));

        Assert.Contains(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Equal(cut, new FileInfo(path).Length); // refused, and left as it was for inspection
    }

    [Fact]
    public async Task A_write_cut_short_past_the_commit_point_is_dropped_and_every_acknowledged_record_recovers()
    {
        var (aid, acknowledged) = await WriteAcknowledgedAsync(messages: 60);
        var committed = await CommittedPointAsync();

        // What a crash during a flush leaves past the last commit: complete entries that never got their
        // commit, then one whose write stopped on a sector boundary (zeros after it). Laid out as FASTER lays
        // entries out: one after another, moving to the next page when one does not fit.
        var at = committed;
        foreach (var entry in new[] { Entry(Record(aid, 1)), Entry(Record(aid, 2)) })
        {
            at = PlaceInPage(at, entry.Length);
            WriteAt(at, entry);
            at += entry.Length;
        }

        var torn = Entry(Record(aid, 3, length: 2000));
        var tornAt = PlaceInPage(at, torn.Length);
        var tearAt = (int)((((tornAt + 700) / 512) * 512) - tornAt);
        torn.AsSpan(tearAt).Clear();
        WriteAt(tornAt, torn);
        var tailLength = (int)(tornAt + torn.Length - committed);

        await using (var store = await OpenAsync(_dir, _time, Small))
        {
            Assert.Equal(acknowledged, PendingIds(store, aid));
            Assert.Equal(committed, store.CommittedUntilAddress);

            // The dropped tail was zeroed: the next crash's tail holds only this run's writes.
            Assert.All(ReadAt(committed, tailLength), b => Assert.Equal(0, b));
            Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(7, 100), out var next));
            await store.WaitForCommitAsync(next);
        }

        await using (var store = await OpenAsync(_dir, _time, Small))
        {
            Assert.Equal(acknowledged.Length + 1, PendingIds(store, aid).Length);
        }
    }

    [Fact]
    public async Task Garbage_past_the_last_commit_refuses_to_open_and_TruncateDamagedLog_drops_it_for_one_start()
    {
        var (aid, acknowledged) = await WriteAcknowledgedAsync(messages: 40);
        var committed = await CommittedPointAsync();
        var garbage = new byte[3000];
        new Random(42).NextBytes(garbage);
        WriteAt(committed, garbage);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, Small));
        Assert.Contains(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains(committed.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Contains("TruncateDamagedLog", error.Message, StringComparison.Ordinal);
        Assert.Equal(garbage, ReadAt(committed, garbage.Length)); // the refusal changed nothing

        await using (var store = await OpenAsync(_dir, _time, o =>
        {
            Small(o);
            o.TruncateDamagedLog = true;
        }))
        {
            Assert.Equal(acknowledged, PendingIds(store, aid));
        }

        Assert.All(ReadAt(committed, garbage.Length), b => Assert.Equal(0, b));
        await using (var store = await OpenAsync(_dir, _time, Small))
        {
            Assert.Equal(acknowledged, PendingIds(store, aid));
        }
    }

    [Theory]
    [InlineData(0)] // the first acknowledged message: in a page the replay reads from the device
    [InlineData(-1)] // the last: in the page recovery holds in memory, which only the verifier checks
    public async Task A_flipped_byte_inside_an_acknowledged_record_refuses_to_open(int which)
    {
        var (_, acknowledged) = await WriteAcknowledgedAsync(messages: 120);
        var id = acknowledged[which < 0 ? acknowledged.Length + which : which];
        var ciphertext = id + LogRecords.FasterEntryHeaderSize + LogRecords.MessageHeaderSize;
        var bytes = ReadAt(ciphertext + 10, 1);
        WriteAt(ciphertext + 10, [(byte)(bytes[0] ^ 0x10)]);

        // Opened, this would have served a ciphertext that is not what was sent, or rolled back over it.
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, Small));
        Assert.Contains(_dir.Path, error.Message, StringComparison.Ordinal);

        // Even with the operator's permission: a damaged committed record cannot be dropped.
        await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, o =>
        {
            Small(o);
            o.TruncateDamagedLog = true;
        }));
    }

    [Fact]
    public async Task A_read_error_during_recovery_refuses_to_open_and_the_intact_log_opens_once_the_device_reads_again()
    {
        // After a crash, so no closing snapshot records how far the log was committed: only the log itself can say.
        var store = await OpenAsync(_dir, _time, Small);
        var aid = await CreateAddressAsync(store, _time);
        var acknowledged = new List<long>();
        for (var i = 0; i < 200; i++)
        {
            acknowledged.Add(await AppendAsync(store, aid, Payload(i, 1000 + i)));
            if (i % 10 == 9)
            {
                await CommitAllAsync(store);
            }
        }

        using var crashed = await CrashAsync(store, _dir);
        var failing = 2L << PageBits; // the third page: FASTER's forward scan for commits stops there, silently
        var faults = 0;

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(crashed, _time, o =>
        {
            Small(o);
            o.CreateLogDevice = prefix => new FaultyDevice(FasterLogSetup.CreateDeviceAt(prefix), (segment, address, length) =>
            {
                var start = ((long)segment << SegmentBits) + (long)address;
                var fails = start < failing + (1 << PageBits) && start + length > failing;
                if (fails)
                {
                    Interlocked.Increment(ref faults);
                }

                return fails;
            });
        }));

        Assert.True(faults > 0, "the injected read error never happened");
        Assert.Contains(crashed.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("commit record", error.Message, StringComparison.Ordinal);

        await using var reopened = await OpenAsync(crashed, _time, Small);
        Assert.Equal(acknowledged, PendingIds(reopened, aid));
    }

    [Fact]
    public async Task A_folder_written_in_another_format_is_refused()
    {
        await using (var store = await OpenAsync(_dir, _time, Small))
        {
            await CreateAddressAsync(store, _time);
        }

        await File.WriteAllTextAsync(_dir.Combine("storage.format"), "edgerelay-faster-log 1 (no checksums)\n");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, Small));
        Assert.Contains("edgerelay-faster-log 1", error.Message, StringComparison.Ordinal);

        File.Delete(_dir.Combine("storage.format"));
        error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(_dir, _time, Small));
        Assert.Contains("older relay", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Messages appended and made durable in batches, the store closed gracefully: every one was acknowledged.</summary>
    private async Task<(AddressId Aid, long[] Acknowledged)> WriteAcknowledgedAsync(int messages)
    {
        await using var store = await OpenAsync(_dir, _time, Small);
        var aid = await CreateAddressAsync(store, _time);
        var ids = new List<long>();
        for (var i = 0; i < messages; i++)
        {
            ids.Add(await AppendAsync(store, aid, Payload(i, 1000 + i)));
            if (i % 10 == 9)
            {
                await CommitAllAsync(store);
            }
        }

        await CommitAllAsync(store);
        return (aid, [.. ids]);
    }

    /// <summary>The log's commit point, read by opening and closing the store (which changes nothing past it).</summary>
    private async Task<long> CommittedPointAsync()
    {
        await using var store = await OpenAsync(_dir, _time, Small);
        return store.CommittedUntilAddress;
    }

    /// <summary>Where FASTER would put an entry of <paramref name="length"/> bytes next: here, or at the next page if it does not fit.</summary>
    private static long PlaceInPage(long address, int length)
    {
        var pageEnd = ((address >> PageBits) + 1) << PageBits;
        return address + length <= pageEnd ? address : pageEnd;
    }

    /// <summary>A message record of the store's format.</summary>
    private static byte[] Record(AddressId aid, int seed, int length = 100)
    {
        var record = new byte[LogRecords.MessageHeaderSize + length];
        LogRecords.WriteMessageHeader(record, aid, 0);
        Payload(seed, length).CopyTo(record.AsSpan(LogRecords.MessageHeaderSize));
        return record;
    }

    /// <summary>A FASTER log entry with its per-entry checksum: checksum, length, body padded to four bytes.</summary>
    private static byte[] Entry(byte[] body)
    {
        var entry = new byte[LogRecords.FasterEntryHeaderSize + ((body.Length + 3) & ~3)];
        BinaryPrimitives.WriteInt32LittleEndian(entry.AsSpan(8), body.Length);
        body.CopyTo(entry.AsSpan(LogRecords.FasterEntryHeaderSize));
        BinaryPrimitives.WriteUInt64LittleEndian(entry, LogVerifier.Checksum(entry.AsSpan(8, 4 + body.Length)));
        return entry;
    }

    private (string Path, long Offset) Locate(long address) =>
        (_dir.Combine("log", "relay.log." + (address >> SegmentBits).ToString(CultureInfo.InvariantCulture)), address & ((1L << SegmentBits) - 1));

    private void WriteAt(long address, byte[] bytes)
    {
        var (path, offset) = Locate(address);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.Write(file, bytes, offset);
    }

    private byte[] ReadAt(long address, int length)
    {
        var (path, offset) = Locate(address);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var bytes = new byte[length];
        var read = RandomAccess.Read(file, bytes, offset);
        return bytes[..read];
    }
}
