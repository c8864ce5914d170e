using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The one way records enter the log, and the waits around it: every part of the store appends through
/// this, so the FASTER failure mapping and the "wait for a commit, never spin" rule live in one place.
/// </summary>
/// <remarks>
/// Callers hold a store operation (<see cref="StoreGate"/>) and whatever lock orders their record against
/// others of the same address; this class only serialises nothing itself. A full log buffer is reported
/// as <c>false</c>: the caller releases its locks, awaits <see cref="WaitForSpaceAsync"/>, and retries.
/// </remarks>
internal sealed class LogWriter
{
    private readonly FasterLog _log;
    private readonly int _pageSize;

    public LogWriter(FasterLog log, int pageSizeBits, GroupCommitter committer, RecentRecords? mirror)
    {
        _log = log;
        _pageSize = 1 << pageSizeBits;
        Committer = committer;
        Mirror = mirror;
    }

    public GroupCommitter Committer { get; }

    /// <summary>The memory mirror of recent message records; null when Storage:ReadCacheSizeBits is 0.</summary>
    public RecentRecords? Mirror { get; }

    /// <summary>Every record below this log address is durable.</summary>
    public long CommittedUntil => Volatile.Read(ref _log.CommittedUntilAddress);

    public long Tail => _log.TailAddress;

    public long Begin => _log.BeginAddress;

    /// <summary>
    /// The log's span (tail − begin) once a Message record carrying <paramref name="ciphertextLength"/> bytes
    /// is appended now: its entry (FASTER's header, the record header, the ciphertext, rounded up to 4 bytes as
    /// FASTER allocates) and, when it does not fit in what is left of the current page, the page end FASTER
    /// skips. What the disk budget compares, so that an accepted SEND never takes the log past it.
    /// </summary>
    public long SpanAfterMessage(int ciphertextLength)
    {
        var entry = LogRecords.FasterEntryHeaderSize + ((LogRecords.MessageHeaderSize + ciphertextLength + 3) & ~3);
        var tail = Tail;
        var leftInPage = _pageSize - (int)(tail & (_pageSize - 1));
        return tail - Begin + (entry > leftInPage ? leftInPage : 0) + entry;
    }

    /// <summary>True if the record at <paramref name="address"/> (an address this log handed out) is durable.</summary>
    public bool IsCommitted(long address) => address < CommittedUntil;

    public bool TryEnqueue(ReadOnlySpan<byte> record, out long address)
    {
        try
        {
            return _log.TryEnqueue(record, out address);
        }
        catch (FasterException ex)
        {
            // FASTER signals a failed device by throwing its own types from every later enqueue.
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    /// <summary>A Message record, serialised straight into the log page and mirrored for fast reads.</summary>
    public bool TryEnqueueMessage(AddressId aid, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext, out long address)
    {
        try
        {
            return LogRecordEntries.TryEnqueueMessage(_log, Mirror, aid, receivedAtUnixMs, ciphertext, out address);
        }
        catch (FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    /// <summary>A MessagesAcked or MessagesExpired record.</summary>
    public bool TryEnqueueIdList(LogRecordKind kind, AddressId aid, ReadOnlySpan<long> ids, out long address)
    {
        try
        {
            return LogRecordEntries.TryEnqueueIdList(_log, kind, aid, ids, out address);
        }
        catch (FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    /// <summary>A MessageMoved record (compaction's copy of a live message), mirrored like a message.</summary>
    public bool TryEnqueueMoved(AddressId aid, long id, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext, out long address)
    {
        try
        {
            return LogRecordEntries.TryEnqueueMoved(_log, Mirror, aid, id, receivedAtUnixMs, ciphertext, out address);
        }
        catch (FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    /// <summary>
    /// Waits until a commit has freed log memory (after a failed enqueue). Never spins: writers that retry
    /// <c>TryEnqueue</c> against a saturated disk starve the committer.
    /// </summary>
    /// <param name="attempt">1 for the first wait after a failed enqueue.</param>
    public async ValueTask WaitForSpaceAsync(int attempt, CancellationToken ct)
    {
        if (attempt > 2)
        {
            // A commit frees the whole buffer, so the retry after one has always succeeded in
            // measurements; this only keeps an unforeseen case from turning into a busy loop.
            await Task.Delay(1, ct);
        }

        await Committer.CommitAsync().WaitAsync(ct);
    }

    /// <summary>
    /// Completes once the record at <paramref name="address"/> is durable, asking for a commit if needed.
    /// Allocation-free when <paramref name="ct"/> cannot be cancelled: every waiter of a commit shares one task.
    /// </summary>
    public ValueTask WaitForCommitAsync(long address, CancellationToken ct)
    {
        if (address < CommittedUntil)
        {
            return default;
        }

        // The one-round guarantee below holds for records enqueued before this call; an address past the
        // tail was never handed out, and waiting for it could return too early.
        if (address >= _log.TailAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, "Not a ticket of this store (it is past the log tail).");
        }

        var round = Committer.CommitAsync();
        return ct.CanBeCanceled ? new ValueTask(round.WaitAsync(ct)) : new ValueTask(round);
    }

    /// <summary>FASTER's random read; (null, 0) below the head or at/after the committed tail.</summary>
    public async ValueTask<(System.Buffers.IMemoryOwner<byte>? Owner, int Length)> ReadAsync(long address, int estimatedLength, CancellationToken ct)
    {
        try
        {
            return await _log.ReadAsync(address, System.Buffers.MemoryPool<byte>.Shared, estimatedLength, ct);
        }
        catch (FasterException ex)
        {
            // Includes a failed per-entry checksum: the record on the device is not what was written.
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }
}
