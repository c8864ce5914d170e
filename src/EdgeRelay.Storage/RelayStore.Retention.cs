using System.Buffers;

namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    // Compaction copies at most this much per maintenance pass, so one pass stays short and its
    // copies fit the log's memory several times over.
    private const long MaxMoveBytesPerPass = 32L << 20;
    private const int MaxMovesPerPass = 65536;

    private long _messagesExpired;
    private long _messagesMoved;

    /// <summary>
    /// Drops messages older than the TTL: one MessagesExpired record per address (or per page of ids),
    /// then the ids leave the index at once, like an ack. Returns how many were dropped.
    /// </summary>
    private async Task<long> SweepExpiredAsync()
    {
        var cutoff = _time.GetUtcNow().ToUnixTimeMilliseconds() - _messageTtlMs;
        var ids = ArrayPool<long>.Shared.Rent(Math.Min(_maxAckIds, 65536));
        long dropped = 0;
        try
        {
            foreach (var pair in _registry)
            {
                var aid = pair.Key;
                var entry = pair.Value;
                for (var attempt = 1; ;)
                {
                    int removed;
                    long removedBytes;
                    lock (entry.Gate)
                    {
                        var count = entry.Pending.CopyExpired(cutoff, ids.AsSpan(0, Math.Min(ids.Length, _maxAckIds)));
                        if (count == 0)
                        {
                            break;
                        }

                        var expired = ids.AsSpan(0, count);
                        if (!TryEnqueueIdList(LogRecordKind.MessagesExpired, aid, expired))
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
                        await WaitForLogSpaceAsync(attempt++, CancellationToken.None);
                        continue;
                    }

                    attempt = 1;
                    dropped += removed;
                    Interlocked.Add(ref _pendingMessages, -removed);
                    Interlocked.Add(ref _pendingBytes, -removedBytes);
                }
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
        }

        if (dropped > 0)
        {
            Interlocked.Add(ref _messagesExpired, dropped);
            StorageLog.MessagesExpired(_logger, dropped, cutoff);
        }

        return dropped;
    }

    /// <summary>
    /// Copies forward the live messages of the old part of the log when they are sparse, so that one
    /// forgotten address cannot pin every segment after its message. Returns how many were moved.
    /// </summary>
    /// <remarks>
    /// <para>The old part is everything below the segment before the tail's: records that recent
    /// traffic no longer touches. If its live bytes are at most <see cref="RelayStoreOptions.CompactionMaxLivePercent"/>
    /// of it, each live message is read, re-appended as a MessageMoved record (same id, same receive
    /// time), and, once that record is committed, the index points at the copy. Truncation then moves
    /// the head past the originals.</para>
    /// <para>Why this is safe: the copy is appended under the address' gate only if the message is still
    /// pending, so an ack either precedes the copy (no copy is made) or follows it in the log (replay
    /// removes the id after re-inserting it). The index moves to the copy only after the copy is durable,
    /// so no reader and no truncation ever depends on an uncommitted record.</para>
    /// </remarks>
    private async Task<int> CompactAsync()
    {
        if (_compactionMaxLivePercent == 0)
        {
            return 0;
        }

        var begin = _log.BeginAddress;
        var regionEnd = ((_log.TailAddress >> _segmentSizeBits) - 1) << _segmentSizeBits;
        if (regionEnd <= begin)
        {
            return 0;
        }

        // First only count, and stop as soon as the old part proves dense: a large backlog that nobody has
        // pulled yet is the common case, and copying its index entries every pass (under each address'
        // gate, so SENDs to it wait) only to find it too dense to move cost tens of MB per pass.
        var budget = (regionEnd - begin) * _compactionMaxLivePercent / 100;
        long liveBytes = 0;
        foreach (var pair in _registry)
        {
            lock (pair.Value.Gate)
            {
                liveBytes += pair.Value.Pending.SumLocatedBelow(regionEnd, budget - liveBytes);
            }

            if (liveBytes > budget)
            {
                return 0; // a dense backlog that moving would only rewrite
            }
        }

        if (liveBytes == 0)
        {
            return 0; // nothing pins the old part
        }

        var candidates = new List<(AddressId Aid, PendingMessage Message)>();
        var scratch = new List<PendingMessage>();
        foreach (var pair in _registry)
        {
            scratch.Clear();
            lock (pair.Value.Gate)
            {
                pair.Value.Pending.CopyLocatedBelow(regionEnd, scratch, MaxMovesPerPass);
            }

            foreach (var message in scratch)
            {
                candidates.Add((pair.Key, message));
            }
        }

        // Oldest first: they pin the head; a pass cut short by the limits still frees the earliest segments.
        candidates.Sort(static (a, b) => a.Message.Location.CompareTo(b.Message.Location));
        var moves = new List<(AddressEntry Entry, long Id, long From, long To)>();
        long moved = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(LogRecords.MovedHeaderSize + _maxPayloadBytes);
        try
        {
            foreach (var (aid, message) in candidates)
            {
                if (moves.Count >= MaxMovesPerPass || moved >= MaxMoveBytesPerPass || IsClosing || !_registry.TryGetValue(aid, out var entry))
                {
                    break;
                }

                var length = await ReadPayloadAsync(message, buffer, CancellationToken.None);
                if (length < 0)
                {
                    continue; // acked (and truncated) meanwhile
                }

                for (var attempt = 1; ; attempt++)
                {
                    long to = 0;
                    bool enqueued, stillPending;
                    lock (entry.Gate)
                    {
                        stillPending = entry.Pending.TryGet(message.Id, out var current) && current.Location == message.Location;
                        enqueued = stillPending && LogRecordEntries.TryEnqueueMoved(_log, _recent, aid, message.Id, message.ReceivedAtUnixMs, buffer.AsSpan(0, length), out to);
                    }

                    if (!stillPending)
                    {
                        break;
                    }

                    if (enqueued)
                    {
                        moves.Add((entry, message.Id, message.Location, to));
                        moved += length;
                        break;
                    }

                    await WaitForLogSpaceAsync(attempt, CancellationToken.None);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (moves.Count == 0)
        {
            return 0;
        }

        await _committer.CommitAsync();
        foreach (var (entry, id, from, to) in moves)
        {
            lock (entry.Gate)
            {
                entry.Pending.TryRelocate(id, from, to);
            }
        }

        Interlocked.Add(ref _messagesMoved, moves.Count);
        StorageLog.MessagesMoved(_logger, moves.Count, moved, begin, regionEnd);
        return moves.Count;
    }

    private bool TryEnqueueIdList(LogRecordKind kind, AddressId aid, ReadOnlySpan<long> ids)
    {
        try
        {
            return LogRecordEntries.TryEnqueueIdList(_log, kind, aid, ids, out _);
        }
        catch (FASTER.core.FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }
}
