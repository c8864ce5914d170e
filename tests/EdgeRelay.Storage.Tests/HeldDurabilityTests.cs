using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Storage.Tests;

/// <summary>
/// The in-memory storage's held mode, which the outbox and push tests use as a commit that has not finished:
/// it must hold exactly what it claims to, or those tests prove nothing.
/// </summary>
public sealed class HeldDurabilityTests
{
    private static async Task<(InMemoryStorage Storage, AddressId Aid)> OpenWithAddressAsync()
    {
        var storage = InMemoryStorage.Open();
        var aid = AddressId.NewRandom();
        await storage.WaitDurableAsync(await storage.CreateAddressAsync(aid, new byte[32], DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()));
        return (storage, aid);
    }

    [Fact]
    public async Task While_held_nothing_becomes_durable_and_every_waiter_waits_until_released()
    {
        var (storage, aid) = await OpenWithAddressAsync();
        storage.HoldFlushes();
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, [1, 2, 3], out _, out var ticket));

        var wait = storage.WaitDurableAsync(ticket).AsTask();
        var flush = storage.FlushAsync();
        storage.RequestFlush();

        Assert.False(storage.IsDurable(ticket));
        Assert.False(wait.IsCompleted);
        Assert.False(flush.IsCompleted);
        Assert.Empty(PendingOf(storage, aid));
        Assert.Equal(1, storage.WaitingFlushes);

        storage.ReleaseFlushes();

        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        await flush.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(storage.IsDurable(ticket));
        Assert.Single(PendingOf(storage, aid));
    }

    [Fact]
    public async Task A_failed_flush_faults_its_waiters_and_leaves_the_write_undurable()
    {
        var (storage, aid) = await OpenWithAddressAsync();
        storage.HoldFlushes();
        storage.TryAppend(aid, [1], out _, out var ticket);
        var wait = storage.WaitDurableAsync(ticket).AsTask();
        var flush = storage.FlushAsync();

        storage.FailFlushes(new IOException("the device failed"));

        await Assert.ThrowsAsync<IOException>(() => wait);
        await Assert.ThrowsAsync<IOException>(() => flush);
        Assert.False(storage.IsDurable(ticket));
    }

    [Fact]
    public async Task Abandoning_keeps_only_what_was_flushed()
    {
        var place = new InMemoryStoragePlace();
        var storage = InMemoryStorage.Open(place);
        var aid = AddressId.NewRandom();
        await storage.WaitDurableAsync(await storage.CreateAddressAsync(aid, new byte[32], DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()));
        storage.TryAppend(aid, [1], out var kept, out var keptTicket);
        await storage.WaitDurableAsync(keptTicket);
        storage.HoldFlushes();
        storage.TryAppend(aid, [2], out _, out var lostTicket);
        var waiter = storage.WaitDurableAsync(lostTicket).AsTask();

        storage.Abandon();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter);
        var reopened = InMemoryStorage.Open(place);
        Assert.Equal(new[] { kept }, PendingOf(reopened, aid).Select(p => p.Id));
    }

    [Fact]
    public async Task With_a_bounded_buffer_appends_report_back_pressure_until_a_flush()
    {
        var (storage, aid) = await OpenWithAddressAsync();
        storage.MaxUndurableRecords = 2;
        storage.HoldFlushes();
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, [1], out _, out _));
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, [2], out _, out _));
        Assert.Equal(AppendStatus.Backpressure, storage.TryAppend(aid, [3], out _, out _));

        var waiting = storage.AppendAsync(aid, new byte[] { 3 }).AsTask();
        Assert.False(waiting.IsCompleted);
        storage.ReleaseFlushes(keepHolding: true);

        Assert.Equal(AppendStatus.Appended, (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Status);
    }

    private static PendingMessage[] PendingOf(InMemoryStorage storage, AddressId aid)
    {
        var buffer = new PendingMessage[16];
        return buffer[..storage.GetPending(aid, MessageId.None, buffer)];
    }
}
