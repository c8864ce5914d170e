using System.Buffers;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Copies forward the live messages of the old part of the log when they are sparse, so that one
/// forgotten address cannot pin every segment after its message.
/// </summary>
/// <remarks>
/// <para>The old part is everything below the segment before the tail's: records that recent traffic no
/// longer touches. If its live bytes are at most <see cref="FasterStorageOptions.CompactionMaxLivePercent"/>
/// of it, each live message is read, re-appended as a MessageMoved record (same id, same receive time),
/// and, once that record is committed, the index points at the copy. Truncation then moves the head past
/// the originals.</para>
/// <para>Why this is safe: the copy is appended under the address' gate only if the message is still
/// pending, so an ack either precedes the copy (no copy is made) or follows it in the log (replay removes
/// the id after re-inserting it). The index moves to the copy only after the copy is durable, so no reader
/// and no truncation ever depends on an uncommitted record.</para>
/// </remarks>
internal sealed class Compactor
{
    // At most this much per maintenance pass, so one pass stays short and its copies fit the log's memory
    // several times over.
    private const long MaxMoveBytesPerPass = 32L << 20;
    private const int MaxMovesPerPass = 65536;

    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly PayloadReader _reader;
    private readonly StoreCounters _counters;
    private readonly StoreGate _gate;
    private readonly ILogger _logger;
    private readonly int _maxLivePercent;
    private readonly int _segmentSizeBits;
    private readonly int _maxPayloadBytes;

    public Compactor(AddressTable registry, LogWriter log, PayloadReader reader, StoreCounters counters, StoreGate gate, FasterStorageOptions options, ILogger logger)
    {
        _registry = registry;
        _log = log;
        _reader = reader;
        _counters = counters;
        _gate = gate;
        _logger = logger;
        _maxLivePercent = options.CompactionMaxLivePercent;
        _segmentSizeBits = options.SegmentSizeBits;
        _maxPayloadBytes = options.MaxPayloadBytes;
    }

    /// <summary>Returns how many messages were moved.</summary>
    public async Task<int> CompactAsync()
    {
        if (_maxLivePercent == 0)
        {
            return 0;
        }

        var begin = _log.Begin;
        var regionEnd = ((_log.Tail >> _segmentSizeBits) - 1) << _segmentSizeBits;
        if (regionEnd <= begin)
        {
            return 0;
        }

        // First only count, and stop as soon as the old part proves dense: a large backlog that nobody has
        // pulled yet is the common case, and copying its index entries every pass (under each address'
        // gate, so SENDs to it wait) only to find it too dense to move cost tens of MB per pass.
        var budget = (regionEnd - begin) * _maxLivePercent / 100;
        long liveBytes = 0;
        foreach (var pair in _registry.Entries)
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

        var candidates = new List<(AddressId Aid, PendingEntry Message)>();
        var scratch = new List<PendingEntry>();
        foreach (var pair in _registry.Entries)
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
                if (moves.Count >= MaxMovesPerPass || moved >= MaxMoveBytesPerPass || _gate.IsClosing || !_registry.TryGetEntry(aid, out var entry))
                {
                    break;
                }

                var length = await _reader.ReadEntryAsync(message, buffer, CancellationToken.None);
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
                        enqueued = stillPending && _log.TryEnqueueMoved(aid, message.Id, message.ReceivedAtUnixMs, buffer.AsSpan(0, length), out to);
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

                    await _log.WaitForSpaceAsync(attempt, CancellationToken.None);
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

        await _log.Committer.CommitAsync();
        foreach (var (entry, id, from, to) in moves)
        {
            lock (entry.Gate)
            {
                entry.Pending.TryRelocate(id, from, to);
            }
        }

        _counters.Moved(moves.Count);
        StorageLog.MessagesMoved(_logger, moves.Count, moved, begin, regionEnd);
        return moves.Count;
    }
}
