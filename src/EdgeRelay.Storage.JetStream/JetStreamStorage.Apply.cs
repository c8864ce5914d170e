using EdgeRelay.Storage.JetStream.Index;

namespace EdgeRelay.Storage.JetStream;

// Applying the streams' records to this node's index, in stream order, as the followers deliver them. Every node
// applies the same records in the same order, so every index agrees once it has caught up.
public sealed partial class JetStreamStorage
{
    private readonly List<MessageId> _ackIds = [];
    private readonly List<PendingMessage> _removed = [];

    private void ApplyAddressRecord(ulong seq, byte[] record)
    {
        if (Records.Kind(record) != RecordKind.Address)
        {
            throw new InvalidDataException($"Record {seq} of the address stream is a {Records.Kind(record)} record.");
        }

        var info = Records.ReadAddress(record);
        lock (_gate)
        {
            var entry = Entry(info.Id);

            // This node's own records change nothing: the entry showed each write as it was made. The stream keeps
            // only the newest record per address, so an older one of ours may never come back at all.
            if (Records.Writer(record) == _writer)
            {
                return;
            }

            // Another node's record while ours are in flight: whether it is newer than ours is known once our round
            // has our sequences (AddressWritesStored).
            if (entry.WritesInFlight > 0)
            {
                if (entry.HeldBack is not { } held || held.Seq < seq)
                {
                    entry.HeldBack = (seq, info);
                }

                return;
            }

            ShowLocked(entry, info);
        }
    }

    /// <summary>
    /// A round stored these registry records of ours and this node applied the streams past them: an address with
    /// no more writes in flight shows whichever is newer in the stream, ours or one another node wrote meanwhile.
    /// </summary>
    private void AddressWritesStored(List<(AddressId Address, ulong Seq)> stored)
    {
        lock (_gate)
        {
            foreach (var (aid, seq) in stored)
            {
                var entry = Entry(aid);
                entry.OwnSeq = Math.Max(entry.OwnSeq, seq);
                if (--entry.WritesInFlight > 0)
                {
                    continue;
                }

                entry.WritesInFlight = 0;
                if (entry.HeldBack is { } held && held.Seq > entry.OwnSeq)
                {
                    ShowLocked(entry, held.Info);
                }

                entry.HeldBack = null;
            }
        }
    }

    private void ShowLocked(AddressEntry entry, AddressInfo info)
    {
        if (entry.Info is null)
        {
            _addresses++;
        }

        entry.Info = info;
    }

    private void ApplyMessageRecord(int partition, ulong seq, byte[] record)
    {
        var own = Records.Writer(record) == _writer;
        ApplyMessageRecordLocked(partition, seq, record, own);

        // Another node's SEND: nothing on this node knows of it yet, and its subscribers here want it pushed.
        if (!own && Records.Kind(record) == RecordKind.Message)
        {
            Interlocked.Increment(ref _remoteArrivals);
            RemoteArrival?.Invoke(Records.ReadMessage(record).Aid);
        }
    }

    private void ApplyMessageRecordLocked(int partition, ulong seq, byte[] record, bool own)
    {
        lock (_gate)
        {
            switch (Records.Kind(record))
            {
                case RecordKind.Message:
                    ApplyMessage(partition, seq, record, own);
                    break;
                case RecordKind.Ack:
                    _ackIds.Clear();
                    var aid = Records.ReadAck(record, _ackIds);
                    if (_entries.TryGetValue(aid, out var entry))
                    {
                        foreach (var id in _ackIds)
                        {
                            RemoveLocked(entry, id);
                        }
                    }

                    if (own)
                    {
                        // Durable now (it came back through the stream): the messages' space can go.
                        _ackIds.ForEach(DeletePayload);
                    }

                    break;
                case RecordKind.Expire:
                    _expired += ExpireLocked(Records.ReadExpire(record), partition, null);
                    break;
                case RecordKind.Purge:
                    var (purged, upTo) = Records.ReadPurge(record);
                    if (_entries.TryGetValue(purged, out var purgedEntry))
                    {
                        _removed.Clear();
                        RemoveWhereLocked(purgedEntry, upTo, static (upTo, m) => m.Id <= upTo, _removed);
                        if (own)
                        {
                            _removed.ForEach(m => DeletePayload(m.Id));
                        }
                    }

                    break;
                default:
                    throw new InvalidDataException($"Record {seq} of stream {_options.MessageStream(partition)} is of unknown kind {record[0]}.");
            }
        }
    }

    private void ApplyMessage(int partition, ulong seq, byte[] record, bool own)
    {
        var (aid, receivedAt) = Records.ReadMessage(record);
        var length = record.Length - Records.MessageHeaderLength;
        var entry = Entry(aid);
        if (own)
        {
            entry.ReservedCount = Math.Max(0, entry.ReservedCount - 1);
            entry.ReservedBytes = Math.Max(0, entry.ReservedBytes - length);
            _reservedBytes = Math.Max(0, _reservedBytes - length);
            _reservedCount = Math.Max(0, _reservedCount - 1);
        }

        var id = new MessageId(((long)seq * _options.Partitions) + partition);
        if (entry.Pending is null)
        {
            entry.Pending = new PendingList();
        }

        if (entry.Pending.Count == 0)
        {
            _backlogged.Add(entry);
        }

        entry.Pending.Add(new PendingMessage(id, length, receivedAt) { ReadHint = (long)seq });
        _pendingMessages++;
        _pendingBytes += length;
        _cache.Add(id, record);
    }

    /// <summary>Removes one pending message; false when it was not pending.</summary>
    private bool RemoveLocked(AddressEntry entry, MessageId id)
    {
        var length = entry.Pending?.Remove(id) ?? -1;
        if (length < 0)
        {
            return false;
        }

        _pendingMessages--;
        _pendingBytes -= length;
        _cache.Remove(id);
        if (entry.Pending!.Count == 0)
        {
            _backlogged.Remove(entry);
        }

        return true;
    }

    private void RemoveWhereLocked<TState>(AddressEntry entry, TState state, Func<TState, PendingMessage, bool> drop, List<PendingMessage> removed)
    {
        if (entry.Pending is null)
        {
            return;
        }

        var first = removed.Count;
        entry.Pending.RemoveWhere(state, drop, removed);
        for (var i = first; i < removed.Count; i++)
        {
            _pendingMessages--;
            _pendingBytes -= removed[i].Length;
            _cache.Remove(removed[i].Id);
        }

        if (entry.Pending.Count == 0)
        {
            _backlogged.Remove(entry);
        }
    }

    /// <summary>Drops the messages of <paramref name="partition"/> (all partitions with -1) received at or before the cutoff.</summary>
    private long ExpireLocked(long cutoffUnixMs, int partition, List<int>? partitionsHit)
    {
        long count = 0;
        _removed.Clear();
        foreach (var entry in _backlogged.ToArray())
        {
            if (partition >= 0 && entry.Partition != partition)
            {
                continue;
            }

            var before = _removed.Count;
            RemoveWhereLocked(entry, cutoffUnixMs, static (cutoff, m) => m.ReceivedAtUnixMs <= cutoff, _removed);
            if (_removed.Count > before)
            {
                count += _removed.Count - before;
                if (partitionsHit is not null && !partitionsHit.Contains(entry.Partition))
                {
                    partitionsHit.Add(entry.Partition);
                }
            }
        }

        return count;
    }

    private void DeletePayload(MessageId id) => _deleter.Delete((int)(id.Value % _options.Partitions), (ulong)(id.Value / _options.Partitions));
}
