using System.Buffers.Binary;
using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>Write, close, reopen, compare: FASTER's own resume test, applied to the store's derived state.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Reopen_restores_registry_and_pending_messages_without_the_acked_ones()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var addresses = new List<AddressId>();
        var expected = new Dictionary<AddressId, List<(long Id, byte[] Payload)>>();
        AddressId revoked;
        StorageStatistics before;

        await using (var store = await OpenAsync(dir, time))
        {
            for (var a = 0; a < 3; a++)
            {
                var aid = await CreateAddressAsync(store, time, seed: a);
                addresses.Add(aid);
                expected[aid] = [];
            }

            for (var i = 0; i < 60; i++)
            {
                var aid = addresses[i % 3];
                var payload = Payload(i, 50 + (i * 13));
                expected[aid].Add((Append(store, aid, payload), payload));
            }

            await CommitAllAsync(store);
            foreach (var aid in addresses)
            {
                var acked = expected[aid].Where((_, i) => i % 3 == 0).Select(m => m.Id).ToArray();
                Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, acked)).Status);
                expected[aid].RemoveAll(m => acked.Contains(m.Id));
            }

            revoked = addresses[1];
            Assert.Equal(RevokeStatus.Revoked, (await store.RevokeAsync(revoked)).Status);
            time.Advance(TimeSpan.FromMinutes(5));
            await CommitAllAsync(store);
            before = store.GetStatistics();
        }

        await using (var store = await OpenAsync(dir, time))
        {
            var after = store.GetStatistics();
            Assert.Equal(before.Addresses, after.Addresses);
            Assert.Equal(before.PendingMessages, after.PendingMessages);
            Assert.Equal(before.PendingBytes, after.PendingBytes);

            foreach (var aid in addresses)
            {
                Assert.True(store.TryGetAddress(aid, out var info));
                Assert.Equal(aid == revoked, info.IsRevoked);
                Assert.Equal(Start.ToUnixTimeSeconds(), info.CreatedAt);
                Assert.Equal(Start.AddDays(1).ToUnixTimeSeconds(), info.ExpiresAt);

                Assert.Equal(expected[aid].Select(m => m.Id), PendingIds(store, aid));
                foreach (var (id, payload) in expected[aid])
                {
                    Assert.Equal(payload, await ReadAsync(store, aid, id));
                }
            }

            // The store keeps working after recovery, with ids continuing upwards.
            var next = Append(store, addresses[0], Payload(99, 10));
            Assert.True(next > expected[addresses[0]][^1].Id);
        }
    }

    [Fact]
    public async Task Records_never_committed_are_absent_after_a_crash()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        AddressId aid;
        AddressId lostAddress = AddressId.NewRandom();
        long[] committed;

        var store = await OpenAsync(dir, time);
        aid = await CreateAddressAsync(store, time);
        committed = Enumerable.Range(0, 3).Select(i => Append(store, aid, Payload(i, 100))).ToArray();
        await CommitAllAsync(store);

        // Appended (and one acked) after the last commit, then the process dies.
        Append(store, aid, Payload(10, 100));
        Append(store, aid, Payload(11, 100));
        Assert.Equal(AckStatus.Acked, (await store.AckAsync(aid, committed[0])).Status);
        await store.CreateAddressAsync(lostAddress, Key(5), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());
        using var survived = await CrashAsync(store, dir);

        await using (store = await OpenAsync(survived, time))
        {
            Assert.Equal(committed, PendingIds(store, aid));
            Assert.False(store.TryGetAddress(lostAddress, out _));
            Assert.Equal(3, store.GetStatistics().PendingMessages);
            Assert.Equal(store.CommittedUntilAddress, store.GetStatistics().LogTailAddress);
        }
    }

    /// <summary>
    /// The store writes a commit file only every <see cref="FasterLogSetup.CommitFileEvery"/> commits; the rest
    /// are commit records in the log. A crash long after the last commit file, with a truncation in between,
    /// must still recover every commit: from the file, then by replaying the log's commit records.
    /// </summary>
    [Fact]
    public async Task A_crash_thousands_of_commits_after_the_last_commit_file_loses_nothing_committed()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        static void SmallSegments(FasterStorageOptions o)
        {
            o.PageSizeBits = 16;
            o.MemorySizeBits = 18;
            o.SegmentSizeBits = 20; // 1 MiB files, so the early messages can be truncated away
        }

        var store = await OpenAsync(dir, time, SmallSegments);
        var aid = await CreateAddressAsync(store, time);
        var kept = new List<long>();
        var commits = (int)(FasterLogSetup.CommitFileEvery * 2.5);
        long headBefore = 0;
        for (var i = 0; i < commits; i++)
        {
            var id = Append(store, aid, Payload(i, 1000));
            kept.Add(id);
            await CommitAllAsync(store);

            if (i == commits - 400)
            {
                // Ack and truncate everything so far, 400 commits before the crash and ~100 after the last
                // periodic commit file: the segments that file's position lies in are deleted, so recovery
                // works only if FASTER wrote a commit file for the moved begin address, interval or not.
                var ack = await store.AckAsync(aid, kept.ToArray());
                Assert.Equal(AckStatus.Acked, ack.Status);
                await store.WaitForCommitAsync(ack.Ticket, Timeout());
                kept.Clear();
                await store.RunMaintenanceAsync();
                headBefore = store.GetStatistics().LogBeginAddress;
                Assert.True(headBefore > 0, "maintenance truncated the consumed segments");
            }
        }

        Assert.True(store.GetStatistics().Flushes >= commits, $"{store.GetStatistics().Flushes} commits");
        using var survived = await CrashAsync(store, dir);

        await using (store = await OpenAsync(survived, time, SmallSegments))
        {
            var pending = Pending(store, aid);
            Assert.Equal(kept, pending.Select(p => p.Id.Value));
            Assert.True(store.GetStatistics().LogBeginAddress >= headBefore);
            Assert.Equal(Payload(commits - 1, 1000), await ReadAsync(store, aid, pending[^1]));
        }
    }

    [Fact]
    public async Task An_unknown_record_kind_fails_the_open_instead_of_being_skipped()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using (var store = await OpenAsync(dir, time))
        {
            var aid = await CreateAddressAsync(store, time);
            Append(store, aid, Payload(1, 10));
        }

        // A kind a later version might write, appended with the store's own log settings while it is closed.
        var record = new byte[9];
        record[0] = 0x7f;
        BinaryPrimitives.WriteInt64BigEndian(record.AsSpan(1), 42);
        await RawLog.AppendAsync(Options(dir.Path), record);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OpenAsync(dir, time));
        Assert.Contains("unknown record kind 0x7f", error.Message, StringComparison.Ordinal);

        // The failed open released everything: the directory is not left locked.
        using (new FileStream(Path.Combine(dir.Path, "lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
        }
    }

    [Fact]
    public async Task A_second_store_on_the_same_directory_is_refused()
    {
        using var dir = new TempDirectory();
        await using var store = await OpenAsync(dir);

        var error = await Assert.ThrowsAsync<DataFolderInUseException>(() => OpenAsync(dir));
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        Assert.Equal(Environment.ProcessId, error.HolderProcessId); // the holder wrote its pid beside the lock
    }
}
