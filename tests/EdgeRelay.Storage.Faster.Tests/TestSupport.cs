using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// The FASTER backend's own tests speak of log addresses: an id is the log address of the message's record, a
/// ticket the log address of the record a write appended. These helpers keep them short.
/// </summary>
internal static class TestStore
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Small pages, memory and read cache so that tests run side by side without pinning 64 MiB each; maintenance
    /// effectively off (tests run it with <see cref="FasterStorage.RunMaintenanceAsync"/>).
    /// </summary>
    public static FasterStorageOptions Options(string directory, Action<FasterStorageOptions>? configure = null)
    {
        var options = new FasterStorageOptions
        {
            DataDirectory = directory,
            PageSizeBits = 16,
            MemorySizeBits = 20,
            SegmentSizeBits = 22,
            ReadCacheSizeBits = 20,
            MaxPayloadBytes = 4096,
            MaintenanceInterval = TimeSpan.FromHours(1),
        };
        configure?.Invoke(options);
        return options;
    }

    public static FakeTimeProvider Clock() => new(Start);

    public static Task<FasterStorage> OpenAsync(TempDirectory directory, TimeProvider? time = null, Action<FasterStorageOptions>? configure = null) =>
        FasterStorage.OpenAsync(Options(directory.Path, configure), time ?? Clock());

    public static string SnapshotPath(this TempDirectory directory) => directory.Combine("addresses.snapshot");

    public static string[] SegmentFiles(this TempDirectory directory) => Directory.GetFiles(directory.Combine("log"), "relay.log.*");

    public static byte[] Key(int seed) => Testing.Conformance.StorageConformance.Key(seed);

    public static byte[] Payload(int seed, int length) => Testing.Conformance.StorageConformance.Payload(seed, length);

    /// <summary>Creates an address valid for a day from <paramref name="time"/>'s now, and waits until it is durable.</summary>
    public static async Task<AddressId> CreateAddressAsync(FasterStorage store, TimeProvider time, int seed = 1)
    {
        var aid = AddressId.NewRandom();
        await store.WaitDurableAsync(await store.CreateAddressAsync(aid, Key(seed), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()));
        return aid;
    }

    /// <summary>Appends a message that must be accepted at once; returns its id (its log address).</summary>
    public static long Append(FasterStorage store, AddressId aid, ReadOnlySpan<byte> payload)
    {
        Assert.Equal(AppendStatus.Appended, store.TryAppend(aid, payload, out var id, out _));
        return id.Value;
    }

    /// <summary>Appends through the waiting path; returns the id.</summary>
    public static async ValueTask<long> AppendAsync(FasterStorage store, AddressId aid, byte[] payload)
    {
        var result = await store.AppendAsync(aid, payload);
        Assert.Equal(AppendStatus.Appended, result.Status);
        return result.Id.Value;
    }

    /// <summary>The old shape of <see cref="FasterStorage.TryAppend"/>: the id as a log address, 0 unless appended.</summary>
    public static AppendStatus TryAppendMessage(this FasterStorage store, AddressId aid, ReadOnlySpan<byte> payload, out long id)
    {
        var status = store.TryAppend(aid, payload, out var messageId, out _);
        id = messageId.Value;
        return status;
    }

    /// <summary>The old shape of <see cref="FasterStorage.AppendAsync"/>: status and the id as a log address.</summary>
    public static async Task<(AppendStatus Status, long MessageId)> AppendMessageAsync(this FasterStorage store, AddressId aid, byte[] payload, CancellationToken ct = default)
    {
        var result = await store.AppendAsync(aid, payload, ct);
        return (result.Status, result.Id.Value);
    }

    /// <summary>Creates an address expiring at <paramref name="expiresAt"/> and waits until it is durable.</summary>
    public static async Task CreateDurableAsync(this FasterStorage store, AddressId aid, byte[] key, long expiresAt) =>
        await store.WaitDurableAsync(await store.CreateAddressAsync(aid, key, expiresAt), Timeout());

    /// <summary>The ticket of the record at <paramref name="address"/> (for this backend, a ticket is a log address).</summary>
    public static DurabilityTicket Ticket(long address) => address == 0 ? DurabilityTicket.None : DurabilityTicket.At(address);

    public static bool IsCommitted(this FasterStorage store, long address) => store.IsDurable(Ticket(address));

    public static ValueTask WaitForCommitAsync(this FasterStorage store, long address, CancellationToken ct = default) =>
        store.WaitDurableAsync(Ticket(address), ct);

    public static ValueTask WaitForCommitAsync(this FasterStorage store, DurabilityTicket ticket, CancellationToken ct = default) =>
        store.WaitDurableAsync(ticket, ct);

    public static ValueTask<WriteResult<AckStatus>> AckAsync(this FasterStorage store, AddressId aid, params long[] ids) =>
        store.AckAsync(aid, ids.Select(id => new MessageId(id)).ToArray());

    public static ValueTask<WriteResult<AckStatus>> AckAsync(this FasterStorage store, AddressId aid, long[] ids, CancellationToken ct) =>
        store.AckAsync(aid, ids.Select(id => new MessageId(id)).ToArray(), ct);

    /// <summary>Commits everything appended so far.</summary>
    public static Task CommitAllAsync(FasterStorage store) => store.FlushAsync().WaitAsync(Timeout());

    public static PendingMessage[] Pending(FasterStorage store, AddressId aid, int max = 100_000)
    {
        var buffer = new PendingMessage[max];
        var n = store.GetPending(aid, MessageId.None, buffer);
        return buffer[..n];
    }

    public static long[] PendingIds(FasterStorage store, AddressId aid) => Pending(store, aid).Select(p => p.Id.Value).ToArray();

    /// <summary>Reads a listed message's ciphertext into a new array (null when it is gone).</summary>
    public static async Task<byte[]?> ReadAsync(FasterStorage store, AddressId aid, PendingMessage message)
    {
        var buffer = new byte[message.Length];
        var n = await store.ReadAsync(aid, message, buffer, Timeout());
        return n < 0 ? null : buffer[..n];
    }

    /// <summary>Reads the pending message <paramref name="id"/> of <paramref name="aid"/>.</summary>
    public static Task<byte[]?> ReadAsync(FasterStorage store, AddressId aid, long id) =>
        ReadAsync(store, aid, Assert.Single(Pending(store, aid), p => p.Id.Value == id));

    /// <summary>Consumes the task once (as CA2012 wants) and tells whether it had completed synchronously.</summary>
    public static bool CompletedSynchronously(ValueTask task) => task.IsCompletedSuccessfully;

    /// <summary>A bound on every wait, so that a bug fails the test instead of hanging the run.</summary>
    public static CancellationToken Timeout(int seconds = 30) => Eventually.Deadline(TimeSpan.FromSeconds(seconds));

    /// <summary>
    /// A crash now: the files as they are on disk at this instant (what a process killed now leaves) are copied,
    /// and the store is closed. Open the returned directory to recover.
    /// </summary>
    public static async Task<TempDirectory> CrashAsync(FasterStorage store, TempDirectory directory)
    {
        var survived = directory.CopyAsIs();
        await store.DisposeAsync();
        return survived;
    }
}
