namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Appends messages: the address checks (exists, not revoked, not expired), the quotas, the append
/// itself (the ciphertext goes from the caller's buffer straight into the log page) and the index entry.
/// Allocation-free; the only work per message besides the copy is one hash for the memory mirror.
/// </summary>
/// <remarks>
/// Quotas are checked under the address' gate, in the same critical section as the append, so concurrent
/// SENDs to one address can never together pass its limits: per address, pending messages and bytes
/// (<see cref="AppendStatus.QuotaAddress"/>); for the store, the log's span on disk
/// (<see cref="AppendStatus.QuotaServer"/>). Acks and control records are never refused for space.
/// </remarks>
internal sealed class MessageIngest
{
    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly StoreCounters _counters;
    private readonly TimeProvider _time;
    private readonly int _maxPayloadBytes;
    private readonly int _maxPendingMessagesPerAddress;
    private readonly long _maxPendingBytesPerAddress;
    private readonly long _maxLogBytes;

    public MessageIngest(AddressTable registry, LogWriter log, StoreCounters counters, TimeProvider time, FasterStorageOptions options)
    {
        _registry = registry;
        _log = log;
        _counters = counters;
        _time = time;
        _maxPayloadBytes = options.MaxPayloadBytes;
        _maxPendingMessagesPerAddress = options.MaxPendingMessagesPerAddress;
        _maxPendingBytesPerAddress = options.MaxPendingBytesPerAddress;
        _maxLogBytes = options.MaxLogBytes;
    }

    /// <summary>Appends without waiting; on <see cref="AppendStatus.Appended"/>, <paramref name="address"/> is the record's log address (its id and ticket).</summary>
    public AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out long address)
    {
        address = 0;
        if (ciphertext.Length > _maxPayloadBytes)
        {
            return AppendStatus.PayloadTooLarge;
        }

        if (!_registry.TryGetEntry(aid, out var entry))
        {
            return AppendStatus.UnknownAddress;
        }

        var now = _time.GetUtcNow();
        var receivedAt = now.ToUnixTimeMilliseconds();

        // Hashed outside the gate: a read from the memory mirror is checked against it.
        var check = _log.Mirror is null ? 0 : RecentRecords.Check(ciphertext);

        // Enqueue and index under the address' gate: ids of one address enter its index in increasing
        // order, so a reader that has seen id N never later finds a smaller id appear before it.
        lock (entry.Gate)
        {
            var info = entry.Info;
            if (info.IsRevoked)
            {
                return AppendStatus.Revoked;
            }

            if (info.ExpiresAt <= now.ToUnixTimeSeconds())
            {
                return AppendStatus.Expired;
            }

            var pending = entry.Pending;
            if (pending.Count >= _maxPendingMessagesPerAddress || pending.Bytes + ciphertext.Length > _maxPendingBytesPerAddress)
            {
                return AppendStatus.QuotaAddress;
            }

            // The disk budget counts the log's whole span: consumed records wait for truncation, and
            // refusing early is what leaves room for the acks and copies that let truncation happen.
            // Only control records (acks, FASTER's commit records) and SENDs to other addresses racing
            // this one (each checks under its own address' lock) ever take the span past it.
            if (_maxLogBytes != 0 && _log.SpanAfterMessage(ciphertext.Length) > _maxLogBytes)
            {
                return AppendStatus.QuotaServer;
            }

            if (!_log.TryEnqueueMessage(aid, receivedAt, ciphertext, out address))
            {
                address = 0;
                return AppendStatus.Backpressure;
            }

            pending.Append(new PendingEntry(address, ciphertext.Length, receivedAt) { MirrorCheck = check });
        }

        _counters.Appended(ciphertext.Length);
        return AppendStatus.Appended;
    }

    /// <summary>The slow path of an append that met a full log buffer: wait for commits until there is room.</summary>
    public async ValueTask<AppendResult> AppendWhenLogHasSpaceAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, StoreGate gate, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await _log.WaitForSpaceAsync(attempt, ct);
            if (gate.IsClosing)
            {
                ThrowHelper.ThrowDisposed();
            }

            var status = TryAppend(aid, ciphertext.Span, out var address);
            if (status != AppendStatus.Backpressure)
            {
                return FasterStorage.Result(status, address);
            }
        }
    }
}
