using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// Snapshot and log that do not belong together (one restored from an older backup, or either written by
/// something else) are refused at open, naming the problem: starting would serve a state no one wrote.
/// </summary>
public sealed class InconsistentStateTests
{
    private static void SmallSegments(FasterStorageOptions o)
    {
        o.PageSizeBits = 16;
        o.MemorySizeBits = 18;
        o.SegmentSizeBits = 20;
    }

    [Fact]
    public async Task A_log_older_than_its_snapshot_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        await using (var store = await OpenAsync(dir, time))
        {
            aid = await CreateAddressAsync(store, time);
        }

        using var backup = dir.CopyAsIs();
        await using (var store = await OpenAsync(dir, time))
        {
            for (var i = 0; i < 20; i++)
            {
                Append(store, aid, Payload(i, 500));
            }
        }

        // The log files restored from the backup, the snapshot (which saw the twenty messages) kept.
        Directory.Delete(dir.Combine("log"), recursive: true);
        Directory.Move(backup.Combine("log"), dir.Combine("log"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("lost or replaced", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_snapshot_older_than_the_log_head_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        byte[] olderSnapshot;
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            var aid = await CreateAddressAsync(store, time);
            await store.RunMaintenanceAsync();
            olderSnapshot = await File.ReadAllBytesAsync(dir.SnapshotPath());

            // Another address, then enough consumed traffic that the head moves past the older snapshot's
            // covered address: the record creating it is gone from the log, only newer snapshots know it.
            await CreateAddressAsync(store, time, seed: 2);
            var ids = Enumerable.Range(0, 200).Select(i => Append(store, aid, Payload(i, 1000))).ToArray();
            await CommitAllAsync(store);
            var ack = await store.AckAsync(aid, ids);
            await store.WaitForCommitAsync(ack.Ticket, Timeout());
            await store.RunMaintenanceAsync();
            Assert.True(store.GetStatistics().LogBeginAddress > ids[^1], "the head did not move past the traffic");
        }

        await File.WriteAllBytesAsync(dir.SnapshotPath(), olderSnapshot);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time, SmallSegments));
        Assert.Contains("older snapshot", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_snapshot_listing_an_address_twice_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            await CreateAddressAsync(store, time);
        }

        Assert.True(AddressSnapshot.TryRead(dir.Path, out var covered, out var addresses));
        AddressSnapshot.Write(dir.Path, covered, [addresses[0], addresses[0]]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_logged_message_for_an_address_never_created_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            await CreateAddressAsync(store, time);
        }

        var record = new byte[LogRecords.MessageHeaderSize + 10];
        LogRecords.WriteMessageHeader(record, AddressId.NewRandom(), Start.ToUnixTimeMilliseconds());
        await RawLog.AppendAsync(Options(dir.Path), record);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("never created", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_created_a_second_time_in_the_log_is_refused()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        await using (var store = await OpenAsync(dir, time))
        {
            aid = await CreateAddressAsync(store, time);
        }

        var record = new byte[LogRecords.AddressCreatedSize];
        LogRecords.WriteAddressCreated(record, aid, Key(9), Start.ToUnixTimeSeconds(), Start.AddDays(2).ToUnixTimeSeconds());
        await RawLog.AppendAsync(Options(dir.Path), record);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("created a second time", error.Message, StringComparison.Ordinal);
    }
}
