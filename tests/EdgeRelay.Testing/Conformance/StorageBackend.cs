using EdgeRelay.Storage;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Testing.Conformance;

/// <summary>
/// One place where a backend keeps its data, for one conformance test: open a storage there, reopen it after
/// a graceful close, or crash it and reopen what survived. A backend's test project derives one per backend.
/// </summary>
public abstract class StorageBackend : IAsyncDisposable
{
    /// <summary>The clock every conformance test starts at (a fixed date, so expiries and TTLs are exact).</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The storage's clock; tests advance it instead of waiting.</summary>
    public FakeTimeProvider Time { get; } = new(Start);

    /// <summary>
    /// True when a crash loses every write that was not durable (a log that recovers to its last commit);
    /// false when such writes may or may not survive. Either way every durable write survives.
    /// </summary>
    public virtual bool CrashLosesUndurableWrites => true;

    /// <summary>
    /// True when <see cref="IMessageQueue.TryAppend"/> and <see cref="IMessageQueue.AppendAsync"/> return the
    /// appended message's id (the backend numbers messages as it accepts them); false when they return
    /// <see cref="MessageId.None"/> and the id is known only from <see cref="IMessageQueue.GetPending"/> once the
    /// message is durable (its engine numbers messages when it stores them).
    /// </summary>
    public virtual bool IdsKnownAtAppend => true;

    /// <summary>
    /// Opens the storage at this place (the first time: empty), with the conformance limits
    /// (<see cref="DefaultLimits"/>) changed by <paramref name="limits"/>. The previous storage must be closed.
    /// </summary>
    public abstract Task<IRelayStorage> OpenAsync(Action<StorageLimits>? limits = null);

    /// <summary>
    /// The process dies now: <paramref name="storage"/> is gone without a final flush (do not use it again), and
    /// a storage is opened on what its media held at that instant.
    /// </summary>
    public abstract Task<IRelayStorage> CrashAndReopenAsync(IRelayStorage storage, Action<StorageLimits>? limits = null);

    public abstract ValueTask DisposeAsync();

    /// <summary>The limits conformance tests run with unless they set others: 4 KiB ciphertexts, generous quotas.</summary>
    protected static void DefaultLimits(StorageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.MaxPayloadBytes = 4096;
        limits.MessageTtl = TimeSpan.FromDays(21);
        limits.MaxPendingMessagesPerAddress = 100_000;
        limits.MaxPendingBytesPerAddress = 256L << 20;
    }
}

/// <summary>Helpers the conformance suites share: keys, payloads, and the common steps.</summary>
public abstract class StorageConformance : IAsyncLifetime
{
    protected StorageConformance()
    {
        Backend = CreateBackend();
    }

    protected StorageBackend Backend { get; }

    protected FakeTimeProvider Time => Backend.Time;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await Backend.DisposeAsync();

    public static byte[] Key(int seed)
    {
        var key = new byte[AddressInfo.OwnerPublicKeyLength];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)(seed + (i * 7));
        }

        return key;
    }

    public static byte[] Payload(int seed, int length)
    {
        var payload = new byte[length];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((seed * 31) + i);
        }

        return payload;
    }

    /// <summary>Consumes the task once (as CA2012 wants) and tells whether it had completed synchronously.</summary>
    protected static bool CompletedSynchronously(ValueTask task) => task.IsCompletedSuccessfully;

    /// <summary>A bound on every wait, so that a bug fails the test instead of hanging the run.</summary>
    protected static CancellationToken Deadline() => Eventually.Deadline();

    /// <summary>The backend under test, one per test.</summary>
    protected abstract StorageBackend CreateBackend();

    /// <summary>Creates an address valid for a day and waits until it is durable.</summary>
    protected async Task<AddressId> CreateAddressAsync(IRelayStorage storage, int seed = 1, TimeSpan? lifetime = null)
    {
        var aid = AddressId.NewRandom();
        var ticket = await storage.CreateAddressAsync(aid, Key(seed), Time.GetUtcNow().Add(lifetime ?? TimeSpan.FromDays(1)).ToUnixTimeSeconds());
        await storage.WaitDurableAsync(ticket, Deadline());
        return aid;
    }

    /// <summary>
    /// Appends a message that must be accepted at once (the test leaves the storage room); returns what the
    /// append returned: the id (<see cref="MessageId.None"/> unless <see cref="StorageBackend.IdsKnownAtAppend"/>)
    /// and the ticket. A test that needs ids takes them from <see cref="Pending"/> once durable, as an owner does.
    /// </summary>
    protected static (MessageId Id, DurabilityTicket Ticket) Append(IRelayStorage storage, AddressId aid, byte[] payload)
    {
        Assert.Equal(AppendStatus.Appended, storage.TryAppend(aid, payload, out var id, out var ticket));
        return (id, ticket);
    }

    /// <summary>Appends a message that must be accepted, waiting for room if the storage is momentarily full.</summary>
    protected static async Task<(MessageId Id, DurabilityTicket Ticket)> AppendAsync(IRelayStorage storage, AddressId aid, byte[] payload)
    {
        var result = await storage.AppendAsync(aid, payload, Deadline());
        Assert.Equal(AppendStatus.Appended, result.Status);
        return (result.Id, result.Ticket);
    }

    /// <summary>
    /// Checks what appends returned against the ids the same messages are listed under once durable: the same
    /// ids when the backend knows them at append, otherwise <see cref="MessageId.None"/> for every append.
    /// </summary>
    protected void AssertAppendIds(IEnumerable<MessageId> appended, IEnumerable<MessageId> listed)
    {
        var returned = appended.ToArray();
        var ids = listed.ToArray();
        if (Backend.IdsKnownAtAppend)
        {
            Assert.Equal(ids, returned);
        }
        else
        {
            Assert.Equal(ids.Length, returned.Length);
            Assert.All(returned, id => Assert.Equal(MessageId.None, id));
        }
    }

    /// <summary>The address' durable pending messages, in order.</summary>
    protected static PendingMessage[] Pending(IRelayStorage storage, AddressId aid, int max = 100_000)
    {
        var buffer = new PendingMessage[max];
        var n = storage.GetPending(aid, MessageId.None, buffer);
        return buffer[..n];
    }

    protected static MessageId[] PendingIds(IRelayStorage storage, AddressId aid) => Pending(storage, aid).Select(p => p.Id).ToArray();

    /// <summary>Reads every pending message's ciphertext.</summary>
    protected static async Task<List<byte[]>> ReadAllAsync(IRelayStorage storage, AddressId aid)
    {
        var result = new List<byte[]>();
        foreach (var message in Pending(storage, aid))
        {
            var buffer = new byte[message.Length];
            var n = await storage.ReadAsync(aid, message, buffer, Deadline());
            Assert.Equal(message.Length, n);
            result.Add(buffer);
        }

        return result;
    }

    /// <summary>Makes everything written so far durable.</summary>
    protected static Task FlushAsync(IRelayStorage storage) => storage.FlushAsync().WaitAsync(Deadline());
}
