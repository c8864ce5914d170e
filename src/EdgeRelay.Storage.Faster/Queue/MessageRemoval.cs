using System.Buffers;
using System.Runtime.InteropServices;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Takes messages out of the queue with a record that says why: an owner's acknowledgement
/// (MessagesAcked) or the message TTL (MessagesExpired). The ids leave the index at once, in the same
/// critical section as the append, so no later read lists them; the record makes that durable.
/// </summary>
internal sealed class MessageRemoval
{
    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly StoreCounters _counters;
    private readonly Microsoft.Extensions.Logging.ILogger _logger;

    public MessageRemoval(AddressTable registry, LogWriter log, StoreCounters counters, int maxIds, Microsoft.Extensions.Logging.ILogger logger)
    {
        _registry = registry;
        _log = log;
        _counters = counters;
        MaxIds = maxIds;
        _logger = logger;
    }

    /// <summary>Most ids one record carries (one log page).</summary>
    public int MaxIds { get; }

    /// <summary>All or nothing; see <see cref="IMessageQueue.AckAsync"/>. Waits for log space without blocking.</summary>
    public async ValueTask<(AckStatus Status, long Record)> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, StoreGate gate, CancellationToken ct)
    {
        if (ids.Length > MaxIds)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), ids.Length, $"At most {MaxIds} ids fit in one acknowledgement record (one log page).");
        }

        for (var attempt = 1; ; attempt++)
        {
            var status = TryAck(aid, MemoryMarshal.Cast<MessageId, long>(ids.Span), out var record, out var backpressure);
            if (!backpressure)
            {
                return (status, record);
            }

            await _log.WaitForSpaceAsync(attempt, ct);
            if (gate.IsClosing)
            {
                ThrowHelper.ThrowDisposed();
            }
        }
    }

    /// <summary>
    /// Drops messages received at or before <paramref name="cutoffUnixMs"/>: one MessagesExpired record per
    /// address (or per page of ids), then the ids leave the index at once, like an ack. Returns how many.
    /// </summary>
    public async ValueTask<long> ExpireAsync(long cutoffUnixMs, CancellationToken ct)
    {
        var ids = ArrayPool<long>.Shared.Rent(Math.Min(MaxIds, 65536));
        long dropped = 0;
        try
        {
            foreach (var pair in _registry.Entries)
            {
                var aid = pair.Key;
                var entry = pair.Value;
                for (var attempt = 1; ;)
                {
                    int removed;
                    long removedBytes;
                    lock (entry.Gate)
                    {
                        var count = entry.Pending.CopyExpired(cutoffUnixMs, ids.AsSpan(0, Math.Min(ids.Length, MaxIds)));
                        if (count == 0)
                        {
                            break;
                        }

                        var expired = ids.AsSpan(0, count);
                        if (!_log.TryEnqueueIdList(LogRecordKind.MessagesExpired, aid, expired, out _))
                        {
                            removed = -1;
                            removedBytes = 0;
                        }
                        else
                        {
                            removed = entry.Pending.Remove(expired, out removedBytes);
                        }
                    }

                    if (removed < 0)
                    {
                        await _log.WaitForSpaceAsync(attempt++, ct);
                        continue;
                    }

                    attempt = 1;
                    dropped += removed;
                    _counters.Removed(removed, removedBytes);
                }
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
        }

        if (dropped > 0)
        {
            _counters.Expired(dropped);
            StorageLog.MessagesExpired(_logger, dropped, cutoffUnixMs);
        }

        return dropped;
    }

    /// <summary>
    /// Drops the address' backlog as of now with MessagesAcked records (one per page of ids), so recovery and
    /// compaction treat the purged messages exactly as acknowledged ones. Ids appended after the call began stay:
    /// a purge of an address that keeps receiving ends. Waits for log space without blocking.
    /// </summary>
    public async ValueTask<PurgeResult> PurgeAsync(AddressId aid, StoreGate gate, CancellationToken ct)
    {
        if (!_registry.TryGetEntry(aid, out var entry))
        {
            return new PurgeResult(PurgeStatus.UnknownAddress, 0, 0, DurabilityTicket.None);
        }

        long newest;
        lock (entry.Gate)
        {
            newest = entry.Pending.NewestId;
        }

        var ids = ArrayPool<long>.Shared.Rent(Math.Min(MaxIds, 65536));
        long messages = 0, bytes = 0, lastRecord = 0;
        try
        {
            for (var attempt = 1; ;)
            {
                int removed;
                long removedBytes = 0;
                lock (entry.Gate)
                {
                    var count = entry.Pending.CopyExpired(long.MaxValue, ids.AsSpan(0, Math.Min(ids.Length, MaxIds)));
                    while (count > 0 && ids[count - 1] > newest)
                    {
                        count--; // arrived after the purge began
                    }

                    if (count == 0)
                    {
                        break;
                    }

                    var page = ids.AsSpan(0, count);
                    if (_log.TryEnqueueIdList(LogRecordKind.MessagesAcked, aid, page, out var record))
                    {
                        removed = entry.Pending.Remove(page, out removedBytes);
                        lastRecord = record;
                    }
                    else
                    {
                        removed = -1;
                    }
                }

                if (removed < 0)
                {
                    await _log.WaitForSpaceAsync(attempt++, ct);
                    if (gate.IsClosing)
                    {
                        ThrowHelper.ThrowDisposed();
                    }

                    continue;
                }

                attempt = 1;
                messages += removed;
                bytes += removedBytes;
                _counters.Removed(removed, removedBytes);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
        }

        return new PurgeResult(PurgeStatus.Purged, messages, bytes, lastRecord == 0 ? DurabilityTicket.None : DurabilityTicket.At(lastRecord));
    }

    private AckStatus TryAck(AddressId aid, ReadOnlySpan<long> ids, out long record, out bool backpressure)
    {
        record = 0;
        backpressure = false;
        if (!_registry.TryGetEntry(aid, out var entry))
        {
            return AckStatus.UnknownAddress;
        }

        if (ids.IsEmpty)
        {
            return AckStatus.Acked;
        }

        // Only what GetPending could have returned can be acked: an uncommitted id is unknown to the owner.
        var committed = _log.CommittedUntil;
        int removed;
        long removedBytes;
        lock (entry.Gate)
        {
            foreach (var id in ids)
            {
                if (!entry.Pending.ContainsCommitted(id, committed))
                {
                    return AckStatus.UnknownMessage;
                }
            }

            if (!_log.TryEnqueueIdList(LogRecordKind.MessagesAcked, aid, ids, out record))
            {
                record = 0;
                backpressure = true;
                return default;
            }

            removed = entry.Pending.Remove(ids, out removedBytes);
        }

        _counters.Removed(removed, removedBytes);
        return AckStatus.Acked;
    }
}
