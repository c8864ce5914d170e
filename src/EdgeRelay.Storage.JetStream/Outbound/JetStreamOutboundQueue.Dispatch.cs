namespace EdgeRelay.Storage.JetStream;

// Which node forwards what (IOutboundDispatch): a queued record's writer is the node that queued it, and the presence
// table says who forwards for a dead one. A queue opened on its own (no presence) forwards everything it lists.
public sealed partial class JetStreamOutboundQueue
{
    private Presence? _presence;

    public Action<IReadOnlyList<OutboundMessage>>? Adopted { get; set; }

    public Action<OutboundStatus, int>? SettledElsewhere { get; set; }

    /// <summary>Claims this node won on the outbound messages of nodes that died (0 for a queue opened on its own).</summary>
    public long Adoptions => _presence?.Adoptions ?? 0;

    public bool Forwards(OutboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        long dispatcher;
        lock (_lock)
        {
            if (!_index.TryGetDispatcher(message.SendId, out dispatcher))
            {
                return false;
            }
        }

        // The table's lock is taken after the queue's is left: the table calls the queue (Dispatchers) from under neither.
        return _presence?.Forwards(dispatcher) ?? true;
    }

    private void Attach(Presence presence)
    {
        _presence = presence;
        presence.Dispatchers = ListDispatchers;
        presence.Adopted = OnAdopted;
    }

    private void Detach()
    {
        if (_presence is { } presence)
        {
            presence.Dispatchers = null;
            presence.Adopted = null;
        }
    }

    private HashSet<long> ListDispatchers()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return new HashSet<long>();
        }

        lock (_lock)
        {
            return _index.Dispatchers();
        }
    }

    private void OnAdopted(long dispatcher)
    {
        List<OutboundMessage> messages;
        lock (_lock)
        {
            messages = _index.QueuedBy(dispatcher);
        }

        if (messages.Count > 0)
        {
            Tell(() => Adopted?.Invoke(messages));
        }
    }

    /// <summary>A queued record of another node applied: told adopted if this node forwards for that node (its records came after the claim).</summary>
    private void TellIfAdopted(long writer, OutboundMessage message)
    {
        if (_presence is { } presence && Adopted is { } adopted && presence.Forwards(writer))
        {
            Tell(() => adopted([message]));
        }
    }

    private void TellSettledElsewhere(OutboundStatus status, int length)
    {
        if (SettledElsewhere is { } told)
        {
            Tell(() => told(status, length));
        }
    }

    /// <summary>Calls the forwarding engine back; what it throws is logged, never let into the follower (which would fail the queue).</summary>
    private void Tell(Action call)
    {
        try
        {
            call();
        }
        catch (Exception ex)
        {
            JetStreamLog.OutboundCallbackFailed(_logger, ex);
        }
    }
}
