using System.Buffers.Binary;

namespace EdgeRelay.Storage.JetStream;

// Outbound dispatch: a node forwards the messages it queued while it beats; once it is dead, one live node claims
// them (a compare-and-set on the dead node's dispatch subject, as for a lease) and forwards them. A chain of deaths
// moves the same claim on: the messages keep naming the node that queued them, the claim names who forwards them.
internal sealed partial class Presence
{
    // Dispatchers (nodes with queued outbound messages) and the claim in force for each (Writer: its adopter).
    private readonly Dictionary<long, Slot> _dispatch = [];

    // Own beats applied when each dispatcher was first listed here, and the claims this node has on their way.
    private readonly Dictionary<long, long> _dispatchersSeen = [];
    private readonly HashSet<long> _claimingDispatch = [];

    // Dispatchers whose claim this node holds and that it last saw dead (told adopted then): one that beats again
    // forwards its own once more, and if it dies again this node is told adopted again.
    private readonly HashSet<long> _adoptedDead = [];
    private long _adoptions;

    /// <summary>The nodes whose queued outbound messages the outbound queue lists (called outside this table's lock).</summary>
    public Func<IReadOnlySet<long>>? Dispatchers { get; set; }

    /// <summary>This node's claim on a dead node's outbound messages is in force: it forwards them from now on.</summary>
    public Action<long>? Adopted { get; set; }

    /// <summary>Claims this node won on the outbound messages of nodes that died.</summary>
    public long Adoptions => Interlocked.Read(ref _adoptions);

    /// <summary>Claims of this node's on their way (tests wait for none before they look for a claim that came too early).</summary>
    internal int DispatchClaimsInFlight
    {
        get
        {
            lock (_lock)
            {
                return _claimingDispatch.Count;
            }
        }
    }

    /// <summary>
    /// Whether this node forwards the outbound messages <paramref name="dispatcher"/> queued: its own, or those of a dead
    /// node whose claim it holds. A node that beats again (it was only cut off) forwards its own again: what this node
    /// had taken of them goes on (at least once), what it queues from then on is its own alone.
    /// </summary>
    public bool Forwards(long dispatcher)
    {
        if (dispatcher == _self)
        {
            return true;
        }

        lock (_lock)
        {
            return _dispatch.TryGetValue(dispatcher, out var slot) && slot.Writer == _self && !IsLiveLocked(dispatcher);
        }
    }

    /// <summary>
    /// The dispatchers whose messages nobody live forwards, to claim now, each with the sequence to expect. Only a
    /// live node claims. A dispatcher this node has no heartbeat of is given as long as a silent node before it is
    /// claimed: it may be a node that just started, whose first beat this node has not applied yet (the outbound
    /// stream and the presence stream are followed apart, so its first queued message can come first).
    /// </summary>
    private List<(long Dispatcher, ulong Seq)>? ReviewDispatchLocked(IReadOnlySet<long>? dispatchers, ref List<long>? readopted)
    {
        if (dispatchers is null)
        {
            return null;
        }

        _adoptedDead.RemoveWhere(node => !dispatchers.Contains(node) || IsLiveLocked(node));

        if (_dispatchersSeen.Count > 0)
        {
            List<long>? gone = null;
            foreach (var node in _dispatchersSeen.Keys)
            {
                if (!dispatchers.Contains(node))
                {
                    (gone ??= []).Add(node);
                }
            }

            gone?.ForEach(node => _dispatchersSeen.Remove(node));
        }

        if (!IsLiveLocked(_self))
        {
            return null;
        }

        List<(long, ulong)>? claims = null;
        foreach (var node in dispatchers)
        {
            if (node == _self)
            {
                continue;
            }

            if (!_dispatchersSeen.TryGetValue(node, out var since))
            {
                _dispatchersSeen.Add(node, since = _ownBeats);
            }

            var slot = _dispatch.GetValueOrDefault(node);
            if (slot.Writer == _self && !IsLiveLocked(node) && _adoptedDead.Add(node))
            {
                (readopted ??= []).Add(node); // held since it was last dead; it beat meanwhile, and is dead again
            }

            if (slot.Writer == _self || _claimingDispatch.Contains(node) || IsLiveLocked(node) || (slot.Writer != 0 && IsLiveLocked(slot.Writer)))
            {
                continue;
            }

            if (!_beats.ContainsKey(node) && _ownBeats - since < _options.DeadAfterBeats)
            {
                continue;
            }

            _claimingDispatch.Add(node);
            (claims ??= []).Add((node, slot.Seq));
        }

        return claims;
    }

    private async Task ClaimDispatchAsync(long dispatcher, ulong expected)
    {
        var record = Record(PresenceKind.Dispatch, default, NowMs, expected);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(9), dispatcher);
        var (outcome, _) = await PublishAsync(_options.DispatchSubject(dispatcher), record, expected).ConfigureAwait(false);
        if (outcome != Outcome.Stored)
        {
            lock (_lock)
            {
                // Lost (the winner's record ends it here) or not answered: the next beat looks again.
                _claimingDispatch.Remove(dispatcher);
            }
        }
    }

    /// <summary>A dispatch claim, in stream order: the first based on the claim in force wins (see <see cref="Apply"/>). True when this node just adopted.</summary>
    private bool ApplyDispatchLocked(ulong seq, long writer, long dispatcher, long at, ulong basedOn)
    {
        var slot = _dispatch.GetValueOrDefault(dispatcher);
        var accepted = slot.Seq == 0 || basedOn == slot.Seq;
        _dispatch[dispatcher] = accepted ? new Slot(seq, writer, at) : slot with { Seq = seq };
        if (writer == _self)
        {
            _claimingDispatch.Remove(dispatcher);
        }

        if (!accepted || writer != _self || slot.Writer == _self)
        {
            return false;
        }

        Interlocked.Increment(ref _adoptions);
        _adoptedDead.Add(dispatcher);
        JetStreamLog.DispatchAdopted(_logger, dispatcher);
        return true;
    }

    /// <summary>Tells the outbound queue of an adoption; what it throws is logged, never let into the follower.</summary>
    private void TellAdopted(long dispatcher)
    {
        try
        {
            Adopted?.Invoke(dispatcher);
        }
        catch (Exception ex)
        {
            JetStreamLog.OutboundCallbackFailed(_logger, ex);
        }
    }
}
