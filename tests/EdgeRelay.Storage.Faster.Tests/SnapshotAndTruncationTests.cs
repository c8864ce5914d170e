using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

public sealed class SnapshotAndTruncationTests
{
    private static void SmallSegments(FasterStorageOptions o)
    {
        o.PageSizeBits = 16;    // 64 KiB pages
        o.MemorySizeBits = 18;
        o.SegmentSizeBits = 20; // 1 MiB files, so a few MB of messages span several
    }

    [Fact]
    public async Task Maintenance_moves_the_head_past_consumed_records_deletes_segments_and_reopen_is_intact()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var addresses = new List<AddressId>();
        var remaining = new Dictionary<AddressId, List<(long Id, byte[] Payload)>>();
        AddressId createdAfterSnapshot;
        TempDirectory survived;

        // Without compaction, so that the head stops exactly at the oldest pending message (compaction would move
        // the few pending messages of the old part forward and let it go further; RetentionTests cover that).
        static void NoCompaction(FasterStorageOptions o)
        {
            SmallSegments(o);
            o.CompactionMaxLivePercent = 0;
        }

        await using (var store = await OpenAsync(dir, time, NoCompaction))
        {
            for (var a = 0; a < 3; a++)
            {
                var aid = await CreateAddressAsync(store, time, seed: a);
                addresses.Add(aid);
                remaining[aid] = [];
            }

            for (var i = 0; i < 6000; i++)
            {
                var aid = addresses[i % 3];
                var payload = Payload(i, 1000);
                var (status, id) = await store.AppendMessageAsync(aid, payload, Timeout());
                Assert.Equal(AppendStatus.Appended, status);
                remaining[aid].Add((id, payload));
            }

            await CommitAllAsync(store);
            var segmentsBefore = dir.SegmentFiles().Length;
            Assert.True(segmentsBefore >= 6, $"expected the messages to span several segments, found {segmentsBefore}");

            // The owners ack the oldest 5,000 messages, in batches as an RM would.
            var oldest = remaining.Values.SelectMany(m => m).OrderBy(m => m.Id).Take(5000).ToList();
            foreach (var aid in addresses)
            {
                var acked = oldest.Where(m => remaining[aid].Contains(m)).Select(m => m.Id).ToArray();
                foreach (var batch in acked.Chunk(500))
                {
                    Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, batch)).Status);
                }

                remaining[aid].RemoveAll(m => acked.Contains(m.Id));
            }

            var lowestPending = remaining.Values.SelectMany(m => m).Min(m => m.Id);
            await store.RunMaintenanceAsync();

            Assert.True(File.Exists(dir.SnapshotPath()));
            Assert.Equal(lowestPending, store.GetStatistics().LogBeginAddress);

            // FASTER deletes the segments wholly below the new head after the commit that persists it, on its own
            // thread: here the four (at least) of the acknowledged messages, and never the head's own.
            var headSegment = store.GetStatistics().LogBeginAddress >> 20;
            Assert.True(headSegment >= 4, $"the head is in segment {headSegment}");
            await Eventually.TrueAsync(
                () => dir.SegmentFiles().All(f => SegmentIndex(f) >= headSegment),
                () => $"the segments below {headSegment} to be deleted (left: {string.Join(", ", dir.SegmentFiles().Select(Path.GetFileName))})");
            Assert.Contains(dir.SegmentFiles(), f => SegmentIndex(f) == headSegment);

            // State changes after the snapshot come back from the log replay.
            createdAfterSnapshot = await CreateAddressAsync(store, time, seed: 7);
            var revoke = await store.RevokeAsync(addresses[2]);
            Assert.Equal(RevokeStatus.Revoked, revoke.Status);
            await store.WaitForCommitAsync(revoke.Ticket);
            survived = await CrashAsync(store, dir); // no final snapshot: the replay has to do it
        }

        using var crashed = survived;
        await using (var store = await OpenAsync(crashed, time, NoCompaction))
        {
            Assert.Equal(4, store.GetStatistics().Addresses);
            Assert.True(store.TryGetAddress(createdAfterSnapshot, out _));
            Assert.True(store.TryGetAddress(addresses[2], out var revoked) && revoked.IsRevoked);
            Assert.True(store.TryGetAddress(addresses[0], out var kept) && !kept.IsRevoked);
            foreach (var aid in addresses)
            {
                Assert.Equal(remaining[aid].Select(m => m.Id), PendingIds(store, aid));
                foreach (var (id, payload) in remaining[aid].Take(20))
                {
                    Assert.Equal(payload, await ReadAsync(store, aid, id));
                }
            }

            Assert.Equal(1000, store.GetStatistics().PendingMessages);
        }
    }

    private static long SegmentIndex(string path) => long.Parse(Path.GetExtension(path).AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task With_nothing_pending_the_head_moves_to_the_snapshot_and_addresses_survive()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            aid = await CreateAddressAsync(store, time);
            var ids = Enumerable.Range(0, 100).Select(i => Append(store, aid, Payload(i, 100))).ToArray();
            await CommitAllAsync(store);
            var ack = await store.AckAsync(aid, ids);
            Assert.Equal(AckStatus.Acked, ack.Status);
            await store.WaitForCommitAsync(ack.Ticket);

            await store.RunMaintenanceAsync();
            Assert.True(store.GetStatistics().LogBeginAddress >= ack.Ticket.Position, "the head moved past the ack record");
        }

        // The address record itself is gone from the log; only the snapshot knows it.
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            Assert.True(store.TryGetAddress(aid, out var info));
            Assert.Equal(Key(1), info.OwnerPublicKey.ToArray());
            Assert.Empty(Pending(store, aid));
            Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(1, 10), out _));
        }
    }

    [Fact]
    public async Task A_corrupt_snapshot_fails_the_open_with_a_clear_error()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            await CreateAddressAsync(store, time);
            await CreateAddressAsync(store, time, seed: 2);
        }

        var bytes = await File.ReadAllBytesAsync(dir.SnapshotPath());
        bytes[40 + 20] ^= 0x01; // one bit of the first owner key
        await File.WriteAllBytesAsync(dir.SnapshotPath(), bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("addresses.snapshot", error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum mismatch", error.Message, StringComparison.Ordinal);

        await File.WriteAllBytesAsync(dir.SnapshotPath(), bytes[..50]); // cut short
        error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_snapshot_after_truncation_fails_the_open()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            var aid = await CreateAddressAsync(store, time);
            var id = Append(store, aid, Payload(1, 10));
            await CommitAllAsync(store);
            Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, id)).Status);
            await store.RunMaintenanceAsync();
            Assert.True(store.GetStatistics().LogBeginAddress > id);
        }

        File.Delete(dir.SnapshotPath());
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time, SmallSegments));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Maintenance_without_changes_does_not_rewrite_the_snapshot()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        await CreateAddressAsync(store, time);
        await store.RunMaintenanceAsync();
        var written = File.GetLastWriteTimeUtc(dir.SnapshotPath());
        File.SetLastWriteTimeUtc(dir.SnapshotPath(), written.AddHours(-1));

        await store.RunMaintenanceAsync();

        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(dir.SnapshotPath()));
    }
}
