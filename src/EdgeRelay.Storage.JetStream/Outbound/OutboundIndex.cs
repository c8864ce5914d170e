namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// One node's view of the outbound stream: the queued messages in send-id order, the settled statuses still
/// retained, and the counts the limits are checked against. Filled by the follower in stream order, and changed
/// at once by this node's own settles (<see cref="SettleHere"/>) so a second settle of one id answers NotQueued
/// before the record is back. Not thread-safe: the queue's lock guards it.
/// </summary>
internal sealed class OutboundIndex
{
    private readonly SortedDictionary<long, OutboundMessage> _queued = [];
    private readonly Dictionary<long, Settled> _settled = [];
    private readonly PriorityQueue<long, long> _bySettledAt = new();
    private readonly Dictionary<string, int> _perOwner = new(StringComparer.Ordinal);

    // The node that queued each message (its queued record's writer), and how many each such node has queued: who
    // forwards it (IOutboundDispatch).
    private readonly Dictionary<long, long> _dispatcherOf = [];
    private readonly Dictionary<long, int> _perDispatcher = [];

    public long QueuedMessages => _queued.Count;

    public long QueuedBytes { get; private set; }

    public int SettledRetained => _settled.Count;

    /// <summary>Bytes of the records this node knows the stream holds for what it lists (queued and retained settle records).</summary>
    public long RecordBytes { get; private set; }

    public int OwnerQueued(string owner) => _perOwner.GetValueOrDefault(owner);

    /// <summary>A queued record applied: listed, unless a settle of it came first (only after its record was deleted, which a settle that is in force allows).</summary>
    public void Queue(OutboundMessage message, long dispatcher)
    {
        if (_settled.ContainsKey(message.SendId))
        {
            return;
        }

        _queued.Add(message.SendId, message);
        _dispatcherOf.Add(message.SendId, dispatcher);
        _perDispatcher[dispatcher] = _perDispatcher.GetValueOrDefault(dispatcher) + 1;
        QueuedBytes += message.Ciphertext.Length;
        RecordBytes += RecordLength(message);
        _perOwner[message.Owner] = OwnerQueued(message.Owner) + 1;
    }

    public bool IsQueued(long sendId) => _queued.ContainsKey(sendId);

    /// <summary>The node that queued a message still queued.</summary>
    public bool TryGetDispatcher(long sendId, out long dispatcher) => _dispatcherOf.TryGetValue(sendId, out dispatcher);

    /// <summary>The nodes that queued the messages still queued.</summary>
    public HashSet<long> Dispatchers() => [.. _perDispatcher.Keys];

    /// <summary>The messages <paramref name="dispatcher"/> queued that are still queued, in send-id order (a scan: an adoption is rare).</summary>
    public List<OutboundMessage> QueuedBy(long dispatcher)
    {
        var list = new List<OutboundMessage>();
        if (_perDispatcher.ContainsKey(dispatcher))
        {
            foreach (var (sendId, message) in _queued)
            {
                if (_dispatcherOf[sendId] == dispatcher)
                {
                    list.Add(message);
                }
            }
        }

        return list;
    }

    /// <summary>This node settles a queued message; the status shows at once, provisional until a settle record of it is applied.</summary>
    public bool SettleHere(long sendId, OutboundState state, ushort code, long nowMs, out OutboundStatus status)
    {
        if (!_queued.TryGetValue(sendId, out var message))
        {
            status = default;
            return false;
        }

        status = new OutboundStatus(sendId, message.Owner, state, state == OutboundState.Delivered ? (ushort)0 : code, message.QueuedAtUnixMs, nowMs);
        Unqueue(message);
        Retain(new Settled(status, Seq: 0, Writer: 0, message.Ciphertext.Length));
        return true;
    }

    /// <summary>
    /// A settle record applied. The first one of an id in stream order is in force on every node: it replaces this
    /// node's provisional status (another node settled it first), and later ones are ignored. One settled at or
    /// before <paramref name="cutoffMs"/> (read by a node that starts or lags past its retention) ends the message's
    /// queued state but is not retained. Returns whether it is in force, whether the message's queued record was
    /// still listed (so it can be deleted), and the ciphertext length of the message (when it was queued here or
    /// settled here provisionally).
    /// </summary>
    public (bool InForce, bool WasQueued, int Length) ApplySettled(OutboundStatus status, ulong seq, long writer, long cutoffMs)
    {
        if (_settled.TryGetValue(status.SendId, out var known))
        {
            if (known.Seq != 0)
            {
                return (false, false, 0);
            }

            RecordBytes += SettleRecordBytes(status);
            _settled[status.SendId] = new Settled(status, seq, writer, 0);
            if (known.Status.SettledAtUnixMs != status.SettledAtUnixMs)
            {
                _bySettledAt.Enqueue(status.SendId, status.SettledAtUnixMs);
            }

            return (true, true, known.Length); // this node's provisional settle: the length it took out of the queued ones
        }

        var wasQueued = _queued.TryGetValue(status.SendId, out var message);
        if (wasQueued)
        {
            Unqueue(message!);
        }

        if (status.SettledAtUnixMs > cutoffMs)
        {
            RecordBytes += SettleRecordBytes(status);
            Retain(new Settled(status, seq, writer, 0));
        }

        return (true, wasQueued, wasQueued ? message!.Ciphertext.Length : 0);
    }

    public bool TryGetStatus(long sendId, out OutboundStatus status)
    {
        if (_queued.TryGetValue(sendId, out var message))
        {
            status = new OutboundStatus(sendId, message.Owner, OutboundState.Queued, 0, message.QueuedAtUnixMs, 0);
            return true;
        }

        var found = _settled.TryGetValue(sendId, out var settled);
        status = settled.Status;
        return found;
    }

    public OutboundMessage[] Queued()
    {
        var list = new OutboundMessage[_queued.Count];
        _queued.Values.CopyTo(list, 0);
        return list;
    }

    /// <summary>
    /// Forgets statuses settled at or before <paramref name="cutoffMs"/> (in force ones only: a provisional one waits
    /// for its record); adds to <paramref name="dropped"/> each one's send id and settle record, to delete. Every node
    /// deletes them, not only their writer, which may have restarted (under a new id) or died: deleting twice is harmless.
    /// </summary>
    public void Forget(long cutoffMs, List<(ulong SendId, ulong Seq)> dropped)
    {
        List<(long SendId, long SettledAt)>? waiting = null;
        while (_bySettledAt.TryPeek(out var sendId, out var settledAt) && settledAt <= cutoffMs)
        {
            _bySettledAt.Dequeue();
            if (_settled.TryGetValue(sendId, out var settled) && settled.Status.SettledAtUnixMs == settledAt)
            {
                if (settled.Seq == 0)
                {
                    (waiting ??= []).Add((sendId, settledAt)); // its record is not back yet: the next pass, not the later ones
                    continue;
                }

                _settled.Remove(sendId);
                RecordBytes -= SettleRecordBytes(settled.Status);
                dropped.Add(((ulong)sendId, settled.Seq));
            }
        }

        waiting?.ForEach(w => _bySettledAt.Enqueue(w.SendId, w.SettledAt));
    }

    private static int SettleRecordBytes(OutboundStatus status) => OutboundRecords.SettledFixedLength + System.Text.Encoding.UTF8.GetByteCount(status.Owner);

    private void Unqueue(OutboundMessage message)
    {
        _queued.Remove(message.SendId);
        _dispatcherOf.Remove(message.SendId, out var dispatcher);
        var others = _perDispatcher[dispatcher] - 1;
        if (others == 0)
        {
            _perDispatcher.Remove(dispatcher);
        }
        else
        {
            _perDispatcher[dispatcher] = others;
        }

        QueuedBytes -= message.Ciphertext.Length;
        RecordBytes -= RecordLength(message);
        var left = OwnerQueued(message.Owner) - 1;
        if (left == 0)
        {
            _perOwner.Remove(message.Owner);
        }
        else
        {
            _perOwner[message.Owner] = left;
        }
    }

    private static int RecordLength(OutboundMessage message) =>
        OutboundRecords.HeaderLength + 27 + System.Text.Encoding.UTF8.GetByteCount(message.Owner) + System.Text.Encoding.UTF8.GetByteCount(message.Endpoint)
        + message.Pin.Length + message.EphemeralAddress.Length + message.Ciphertext.Length;

    private void Retain(Settled settled)
    {
        _settled[settled.Status.SendId] = settled;
        _bySettledAt.Enqueue(settled.Status.SendId, settled.Status.SettledAtUnixMs);
    }

    /// <summary>A settled status, the sequence and writer of the settle record in force (0 while provisional: this node's own, not back yet).</summary>
    /// <param name="Length">For a provisional one, the ciphertext length of the message it took out of the queued ones (0 otherwise).</param>
    private readonly record struct Settled(OutboundStatus Status, ulong Seq, long Writer, int Length);
}
