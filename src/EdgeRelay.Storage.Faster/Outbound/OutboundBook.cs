namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The outbound queue's state in memory, a function of the outbound log: the queued messages (with their
/// ciphertexts, which forwarding needs), the settled statuses still retained, the count per owner, and for
/// each the log address of the record that keeps it alive (what truncation and compaction look at).
/// </summary>
/// <remarks>Not thread-safe: <see cref="FasterOutboundQueue"/> holds its lock around every call, so that the
/// order of records in the log is the order of the changes here.</remarks>
internal sealed class OutboundBook
{
    private readonly SortedDictionary<long, Live<OutboundMessage>> _queued = [];
    private readonly Dictionary<long, Live<OutboundStatus>> _settled = [];
    private readonly SortedSet<(long SettledAt, long SendId)> _retention = [];
    private readonly Dictionary<string, int> _perOwner = new(StringComparer.Ordinal);

    public long QueuedBytes { get; private set; }

    public int QueuedCount => _queued.Count;

    public int SettledCount => _settled.Count;

    /// <summary>Whether a message from <paramref name="owner"/> of <paramref name="length"/> bytes fits the limits.</summary>
    public OutboundEnqueueStatus Admit(string owner, int length, OutboundLimits limits)
    {
        if (_queued.Count >= limits.MaxQueuedMessages || QueuedBytes + length > limits.MaxQueuedBytes)
        {
            return OutboundEnqueueStatus.QueueFull;
        }

        return _perOwner.GetValueOrDefault(owner) >= limits.MaxQueuedPerOwner ? OutboundEnqueueStatus.OwnerQuota : OutboundEnqueueStatus.Queued;
    }

    /// <summary>A Queued record at <paramref name="record"/>: a new message, or a carried copy of one already queued.</summary>
    public void Queue(OutboundMessage message, long record)
    {
        if (_settled.ContainsKey(message.SendId))
        {
            throw new InvalidDataException($"The outbound log queues send {message.SendId} again after it settled (log address {record}). Refusing to open.");
        }

        if (_queued.TryGetValue(message.SendId, out var existing))
        {
            existing.Record = record;
            return;
        }

        _queued.Add(message.SendId, new Live<OutboundMessage>(message, record));
        QueuedBytes += message.Ciphertext.Length;
        _perOwner[message.Owner] = _perOwner.GetValueOrDefault(message.Owner) + 1;
    }

    public bool TryGetQueued(long sendId, out OutboundMessage message)
    {
        if (_queued.TryGetValue(sendId, out var live))
        {
            message = live.Value;
            return true;
        }

        message = null!;
        return false;
    }

    /// <summary>A Settled record at <paramref name="record"/>: the message leaves the queue (if its queued record is still in the log), its status is retained.</summary>
    public void Settle(in OutboundStatus status, long record)
    {
        if (_queued.Remove(status.SendId, out var queued))
        {
            QueuedBytes -= queued.Value.Ciphertext.Length;
            var left = _perOwner[queued.Value.Owner] - 1;
            if (left == 0)
            {
                _perOwner.Remove(queued.Value.Owner);
            }
            else
            {
                _perOwner[queued.Value.Owner] = left;
            }
        }

        if (_settled.TryGetValue(status.SendId, out var existing))
        {
            existing.Record = record; // a carried copy
            return;
        }

        _settled.Add(status.SendId, new Live<OutboundStatus>(status, record));
        _retention.Add((status.SettledAtUnixMs, status.SendId));
    }

    public bool TryGetStatus(long sendId, out OutboundStatus status)
    {
        if (_queued.TryGetValue(sendId, out var queued))
        {
            var m = queued.Value;
            status = new OutboundStatus(m.SendId, m.Owner, OutboundState.Queued, 0, m.QueuedAtUnixMs, 0);
            return true;
        }

        if (_settled.TryGetValue(sendId, out var settled))
        {
            status = settled.Value;
            return true;
        }

        status = default;
        return false;
    }

    public List<OutboundMessage> Queued()
    {
        var list = new List<OutboundMessage>(_queued.Count);
        foreach (var live in _queued.Values)
        {
            list.Add(live.Value);
        }

        return list;
    }

    /// <summary>Drops the statuses settled at or before <paramref name="cutoffUnixMs"/>; returns how many.</summary>
    public int Forget(long cutoffUnixMs)
    {
        var dropped = 0;
        while (_retention.Count > 0 && _retention.Min.SettledAt <= cutoffUnixMs)
        {
            var oldest = _retention.Min;
            _retention.Remove(oldest);
            _settled.Remove(oldest.SendId);
            dropped++;
        }

        return dropped;
    }

    /// <summary>The lowest log address a live entry's record is at; <paramref name="tail"/> when nothing is live.</summary>
    public long LowestRecord(long tail)
    {
        var lowest = tail;
        foreach (var live in _queued.Values)
        {
            lowest = Math.Min(lowest, live.Record);
        }

        foreach (var live in _settled.Values)
        {
            lowest = Math.Min(lowest, live.Record);
        }

        return lowest;
    }

    /// <summary>The live entries whose records lie below <paramref name="address"/>: what compaction copies forward.</summary>
    public (List<OutboundMessage> Queued, List<OutboundStatus> Settled) Below(long address)
    {
        var queued = new List<OutboundMessage>();
        foreach (var live in _queued.Values)
        {
            if (live.Record < address)
            {
                queued.Add(live.Value);
            }
        }

        var settled = new List<OutboundStatus>();
        foreach (var live in _settled.Values)
        {
            if (live.Record < address)
            {
                settled.Add(live.Value);
            }
        }

        return (queued, settled);
    }

    private sealed class Live<T>(T value, long record)
    {
        public T Value { get; } = value;

        public long Record { get; set; } = record;
    }
}
