using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// The group commit's promises: a wait completes only once its record is durable, a commit that fails fails
/// its waiters (and only the commit, not the committer), and no waiter is left hanging when the store stops.
/// The order of steps is forced with a device whose writes the test holds, never with sleeps.
/// </summary>
public sealed class CommitterTests
{
    [Fact]
    public async Task A_record_appended_while_a_commit_is_on_the_disk_is_covered_by_the_next_commit()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var (store, device) = await OpenHeldAsync(dir, time);
        await using (Releasing(store, device))
        {
            var aid = await CreateAddressAsync(store, time);

            // Nothing on its way to the disk before the hold: a commit already writing when it began could make
            // the first record durable on its own, and the first held write would not be that record's commit.
            await store.FlushAsync().WaitAsync(Timeout());
            device.Hold();
            var first = Append(store, aid, Payload(1, 100));
            var firstDurable = store.WaitForCommitAsync(first, Timeout()).AsTask();
            await Eventually.Within(device.WriteHeld, "the first commit's write to reach the disk");

            // The first commit has taken its snapshot of the tail: this record is not in it, and its waiter
            // must not be answered by that commit.
            var second = Append(store, aid, Payload(2, 100));
            var secondDurable = store.WaitForCommitAsync(second, Timeout()).AsTask();
            Assert.False(firstDurable.IsCompleted, "a wait completed while its commit was still on the disk");
            Assert.False(secondDurable.IsCompleted, "a wait completed while its commit was still on the disk");

            device.Release();
            await Eventually.Within(firstDurable, "the first record to be durable");
            Assert.True(store.IsCommitted(first));
            await Eventually.Within(secondDurable, "the second record to be durable");
            Assert.True(store.IsCommitted(second), "the wait completed before the record was durable");
        }
    }

    [Fact]
    public async Task A_failed_commit_fails_its_waiters_and_the_committer_still_answers_later_requests()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var (store, device) = await OpenHeldAsync(dir, time);
        await using (Releasing(store, device))
        {
            var aid = await CreateAddressAsync(store, time);
            var id = Append(store, aid, Payload(1, 100));
            device.FailWrites = true;

            var error = await Assert.ThrowsAsync<IOException>(async () => await store.WaitForCommitAsync(id, Timeout()));
            Assert.Contains("not durable", error.Message, StringComparison.Ordinal);
            Assert.False(store.IsCommitted(id));

            // A committer that died with that commit would leave every later waiter hanging.
            var again = store.FlushAsync();
            await Assert.ThrowsAsync<IOException>(() => again.WaitAsync(Timeout()));
            Assert.False(store.IsCommitted(id));

            // The first failure is the store's for good, for the host to act on: it does not heal by itself.
            Assert.NotNull(store.Failure);
            device.FailWrites = false;
            await Assert.ThrowsAsync<IOException>(() => store.FlushAsync().WaitAsync(Timeout()));
            Assert.NotNull(store.Failure);
        }
    }

    [Fact]
    public async Task A_commit_round_that_never_started_fails_when_the_committer_stops_rather_than_hang()
    {
        using var dir = new TempDirectory();
        await using var parts = await StoreParts.OpenAsync(Options(dir.Path), Clock());
        var committed = parts.Committer.CommitAsync();
        await committed.WaitAsync(Timeout());

        // Held by a waiter that has not asked yet (as WaitForCommitAsync reads it before requesting).
        var notStarted = parts.Committer.NextRound;
        await parts.Committer.StopAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => notStarted.WaitAsync(Timeout()));
    }

    [Fact]
    public async Task Writes_waiting_for_log_space_give_up_when_cancelled_and_change_nothing()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var (store, device) = await OpenHeldAsync(dir, time, BackpressureTests.TinyMemory);
        await using (Releasing(store, device))
        {
            var aid = await CreateAddressAsync(store, time);
            var first = Append(store, aid, Payload(0, 1000));
            await store.WaitForCommitAsync(first, Timeout());

            // The disk stops answering: no commit completes, so the full buffer stays full.
            device.Hold();
            var accepted = FillBuffer(store, aid);
            using var cancel = new CancellationTokenSource();
            var append = store.AppendAsync(aid, Payload(1, 1000), cancel.Token).AsTask();
            var ack = store.AckAsync(aid, [first], cancel.Token).AsTask();
            time.Advance(TimeSpan.FromMinutes(10));
            var expire = store.ExpireAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), cancel.Token).AsTask();
            Assert.False(append.IsCompleted || ack.IsCompleted || expire.IsCompleted, "a write got through a full buffer on a disk that does not answer");

            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => append.WaitAsync(Timeout()));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ack.WaitAsync(Timeout()));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => expire.WaitAsync(Timeout()));

            // None of the three took effect: every message is still pending, the refused one was never added.
            device.Release();
            await CommitAllAsync(store);
            Assert.Equal(accepted + 1, PendingIds(store, aid).Length);
            Assert.Contains(first, PendingIds(store, aid));
        }
    }

    [Fact]
    public async Task An_append_waiting_for_log_space_when_the_store_closes_is_refused_and_not_stored()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var (store, device) = await OpenHeldAsync(dir, time, BackpressureTests.TinyMemory);
        AddressId aid;
        int accepted;
        await using (Releasing(store, device))
        {
            aid = await CreateAddressAsync(store, time);
            device.Hold();
            accepted = FillBuffer(store, aid);
            var append = store.AppendAsync(aid, Payload(1, 1000), Timeout()).AsTask();

            // The close begins at once (no new operations), then waits for the append in flight, which waits
            // for the disk: once it answers, the append finds the store closing.
            var closing = store.DisposeAsync().AsTask();
            device.Release();

            await Assert.ThrowsAsync<ObjectDisposedException>(() => append.WaitAsync(Timeout()));
            await Eventually.Within(closing, "the store to close");
        }

        await using (store = await OpenAsync(dir, time, BackpressureTests.TinyMemory))
        {
            Assert.Equal(accepted, PendingIds(store, aid).Length);
        }
    }

    /// <summary>Appends 1000-byte messages until the log buffer is full; returns how many were accepted.</summary>
    private static int FillBuffer(FasterStorage store, AddressId aid)
    {
        var accepted = 0;
        AppendStatus status;
        while ((status = store.TryAppend(aid, Payload(accepted + 100, 1000), out _, out _)) == AppendStatus.Appended)
        {
            accepted++;
            Assert.True(accepted < 1000, "the buffer never filled");
        }

        Assert.Equal(AppendStatus.Backpressure, status);
        return accepted;
    }

    private static ReleasingStore Releasing(FasterStorage store, HeldDevice device) => new(store, device);

    private static async Task<(FasterStorage Store, HeldDevice Device)> OpenHeldAsync(TempDirectory dir, TimeProvider time, Action<FasterStorageOptions>? configure = null)
    {
        HeldDevice? device = null;
        var store = await OpenAsync(dir, time, o =>
        {
            configure?.Invoke(o);
            o.CreateLogDevice = prefix => device = new HeldDevice(FasterLogSetup.CreateDeviceAt(prefix));
        });
        return (store, device!);
    }

    /// <summary>
    /// Closes the store after letting the held writes through. The store's close waits for its writes, so a
    /// test whose assertion fails while they are held would otherwise hang in the close instead of failing.
    /// </summary>
    private sealed class ReleasingStore(FasterStorage store, HeldDevice device) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            device.Release();
            return store.DisposeAsync();
        }
    }
}
