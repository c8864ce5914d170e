using System.Collections.Concurrent;
using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

public sealed class BackupTests
{
    private static void SmallSegments(FasterStorageOptions o)
    {
        o.PageSizeBits = 16;    // 64 KiB pages
        o.MemorySizeBits = 18;
        o.SegmentSizeBits = 20; // 1 MiB files: a few MB of messages span several
        o.CompactionMaxLivePercent = 0;
    }

    [Fact]
    public async Task A_backup_under_load_restores_exactly_the_log_up_to_its_commit_point_while_maintenance_waits()
    {
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        var time = Clock();
        var sent = new ConcurrentDictionary<long, (AddressId Aid, byte[] Payload)>();
        BackupManifest manifest;
        long until;
        await using (var store = await OpenAsync(dir, time, SmallSegments))
        {
            var aids = new[] { await CreateAddressAsync(store, time, 1), await CreateAddressAsync(store, time, 2) };
            for (var i = 0; i < 3000; i++)
            {
                var aid = aids[i % 2];
                var payload = Payload(i, 1000);
                sent[await AppendAsync(store, aid, payload)] = (aid, payload);
            }

            await CommitAllAsync(store);

            // Senders keep appending (and committing) during the whole backup.
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                for (var i = 3000; !stop.IsCancellationRequested; i++)
                {
                    var aid = aids[i % 2];
                    var payload = Payload(i, 700);
                    var result = await store.AppendAsync(aid, payload, Timeout());
                    Assert.Equal(AppendStatus.Appended, result.Status);
                    sent[result.Id.Value] = (aid, payload);
                    store.RequestFlush();
                }
            });
            await Eventually.TrueAsync(() => sent.Count > 3200, "the writer to append");

            Task maintenance;
            long[] ackedDuringBackup;
            await using (var set = await store.BeginBackupAsync(Timeout()))
            {
                until = Assert.Single(set.CommitPoints).CommittedUntil;
                Assert.True(store.IsCommitted(until - 1));

                // Everything below 2 MiB acked, then maintenance forced: it would truncate (and delete segments),
                // but waits for the backup.
                ackedDuringBackup = sent.Keys.Where(id => id < 2 << 20).ToArray();
                foreach (var group in ackedDuringBackup.GroupBy(id => sent[id].Aid))
                {
                    foreach (var batch in group.Chunk(500))
                    {
                        Assert.Equal(AckStatus.Acked, (await store.AckAsync(group.Key, batch, Timeout())).Status);
                    }
                }

                maintenance = store.RunMaintenanceAsync();
                await Eventually.TrueAsync(() => sent.Keys.Any(id => id > until + (256 << 10)), "appends well past the commit point");

                await using (var archive = File.Create(copy.Combine("backup.tar")))
                {
                    manifest = await BackupArchive.WriteAsync(archive, [set], [], time, null, Timeout());
                }

                Assert.False(maintenance.IsCompleted, "maintenance ran while the backup held its files");
                Assert.Contains(manifest.Files, f => f.Path == "log/relay.log.0");
            }

            await maintenance.WaitAsync(Timeout());
            await stop.CancelAsync();
            await writer.WaitAsync(Timeout());
            Assert.True(store.GetStatistics().LogBeginAddress >= 2 << 20, "the released maintenance moved the head");
            await Eventually.TrueAsync(() => !File.Exists(dir.Combine("log", "relay.log.0")), "segment 0 to be deleted once the backup ended");
            Assert.Contains(ackedDuringBackup, id => id < until);
        }

        Assert.Equal(until, manifest.CommitPoint);
        await using (var archive = File.OpenRead(copy.Combine("backup.tar")))
        {
            await BackupArchive.ExtractAsync(archive, copy.Combine("unpacked"), null, Timeout());
        }

        var restoredPath = copy.Combine("restored");
        await BackupRestore.RestoreAsync(copy.Combine("unpacked"), restoredPath, null, Timeout());
        await using var restored = await FasterStorage.OpenAsync(Options(restoredPath, SmallSegments), time);
        Assert.Equal(until, restored.CommittedUntilAddress);

        // Every message below the commit point, and only those; the ones acked after it are still pending there.
        var expected = sent.Where(p => p.Key < until).OrderBy(p => p.Key).ToList();
        var found = new List<long>();
        foreach (var aid in expected.Select(p => p.Value.Aid).Distinct())
        {
            foreach (var message in Pending(restored, aid))
            {
                Assert.True(sent.TryGetValue(message.Id.Value, out var original), $"message {message.Id.Value} was never sent");
                Assert.Equal(original.Aid, aid);
                Assert.Equal(original.Payload, await ReadAsync(restored, aid, message));
                found.Add(message.Id.Value);
            }
        }

        Assert.Equal(expected.Select(p => p.Key), found.Order());
    }

    [Fact]
    public async Task Restore_refuses_a_flipped_byte_naming_the_file_and_leaves_the_target_empty()
    {
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            var aid = await CreateAddressAsync(store, time);
            await AppendAsync(store, aid, Payload(1, 500));
            await using var set = await store.BeginBackupAsync(Timeout());
            await using var archive = File.Create(copy.Combine("backup.tar"));
            await BackupArchive.WriteAsync(archive, [set], [], time, null, Timeout());
        }

        await using (var archive = File.OpenRead(copy.Combine("backup.tar")))
        {
            await BackupArchive.ExtractAsync(archive, copy.Combine("unpacked"), null, Timeout());
        }

        var segment = copy.Combine("unpacked", "log", "relay.log.0");
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[100] ^= 0x01;
        await File.WriteAllBytesAsync(segment, bytes);

        var target = copy.Combine("restored");
        var refusal = await Assert.ThrowsAsync<InvalidDataException>(() => BackupRestore.RestoreAsync(copy.Combine("unpacked"), target, null, Timeout()));
        Assert.Contains("'log/relay.log.0'", refusal.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public async Task Restore_and_extract_refuse_a_folder_that_holds_anything()
    {
        using var dir = new TempDirectory();
        using var target = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            await CreateAddressAsync(store, time);
        }

        var kept = target.Combine("keep.txt");
        await File.WriteAllTextAsync(kept, "operator's file");
        await Assert.ThrowsAsync<BackupTargetNotEmptyException>(() => BackupRestore.RestoreAsync(dir.Path, target.Path, null, Timeout()));
        await Assert.ThrowsAsync<BackupTargetNotEmptyException>(() => BackupArchive.ExtractAsync(Stream.Null, target.Path, null, Timeout()));
        Assert.Equal("operator's file", await File.ReadAllTextAsync(kept));
        Assert.Single(Directory.EnumerateFileSystemEntries(target.Path));
    }

    [Fact]
    public async Task Extract_refuses_a_stream_cut_short_before_its_manifest()
    {
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        var time = Clock();
        using var archive = new MemoryStream();
        await using (var store = await OpenAsync(dir, time))
        {
            var aid = await CreateAddressAsync(store, time);
            await AppendAsync(store, aid, Payload(1, 500));
            await using var set = await store.BeginBackupAsync(Timeout());
            await BackupArchive.WriteAsync(archive, [set], [], time, null, Timeout());
        }

        var cut = new MemoryStream(archive.ToArray()[..(int)(archive.Length / 2)]);
        var refusal = await Assert.ThrowsAsync<InvalidDataException>(() => BackupArchive.ExtractAsync(cut, copy.Combine("unpacked"), null, Timeout()));
        Assert.Contains("cut short", refusal.Message + " incomplete", StringComparison.Ordinal);
    }
}
