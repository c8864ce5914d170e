using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

// Who is live: heartbeats, judged in stream order for the other nodes and by its own clock for this one.
internal sealed partial class Presence
{
    /// <summary>Leases this node wants and may take now, ones it holds and no longer wants, and what to tell the hub.</summary>
    private sealed record Decisions(List<AddressId>? Changed, List<(AddressId Aid, ulong Seq, Want Want)>? Acquire, List<(AddressId Aid, ulong Seq)>? Release, List<AddressId>? Lost, List<(long Node, ulong UpTo)>? Purge, List<(long Dispatcher, ulong Seq)>? Claims = null, List<long>? Readopted = null);

    /// <summary>
    /// Whether <paramref name="node"/> is live. This node: it sent its newest heartbeat known stored and applied less
    /// than <see cref="JetStreamStorageOptions.NodeTimeout"/> ago by its own monotonic clock, so a node cut off from the
    /// stream (or whose follower stalls) stops pushing by itself. Another node: since this node applied its newest heartbeat, fewer than
    /// <see cref="JetStreamStorageOptions.DeadAfterBeats"/> of this node's own heartbeats were applied, or less than
    /// NodeTimeout + HeartbeatInterval passed on this node's monotonic clock.
    /// </summary>
    /// <remarks>
    /// Neither rule compares two nodes' clocks. Counting own beats in stream order means that after an outage of the
    /// stream nobody is dead for the time that passed: a live node's first beats land among the others' first beats,
    /// before they count to the limit (if it reconnects within that many beats of them). Time measured here means a
    /// count reached early (own beats that were slow to be stored, then stored together) does not kill a node before
    /// its own clock has stopped it, one interval earlier. A node never seen (its subject purged, or a node that never
    /// beat) is dead; one seen before this node's first own beat counts from there.
    /// </remarks>
    private bool IsLiveLocked(long node)
    {
        if (!_beats.TryGetValue(node, out var beat) || beat.AtMs == 0)
        {
            return false;
        }

        // This node's own time is monotonic: a wall clock stepped back would stretch its pushing past the timeout.
        return node == _self
            ? _selfBeaten && _time.GetElapsedTime(_selfBeatSent) < _options.NodeTimeout
            : _ownBeats - beat.SeenAt < _options.DeadAfterBeats || _time.GetElapsedTime(beat.SeenTs) < _options.NodeTimeout + _options.HeartbeatInterval;
    }

    /// <summary>A beat this node sent at <paramref name="sent"/> (its monotonic clock) is stored and applied: it is live from then for the node timeout.</summary>
    private void Beaten(long sent)
    {
        lock (_lock)
        {
            if (!_selfBeaten || sent > _selfBeatSent)
            {
                (_selfBeatSent, _selfBeaten) = (sent, true);
            }
        }
    }

    private bool IsPushedLocked(AddressId aid) => _leases.TryGetValue(aid, out var slot) && slot.Writer != 0 && IsLiveLocked(slot.Writer);

    /// <summary>A heartbeat record, in stream order: this node's own ones count the others' silence.</summary>
    private void ApplyBeatLocked(ulong seq, long writer, long at, ref List<AddressId>? changed)
    {
        if (writer == _self && at != 0)
        {
            _ownBeats++;
        }

        _beats[writer] = new NodeBeat(at, _ownBeats, _time.GetTimestamp(), seq);
        if (writer != _self && at != 0 && _ownBeats > 0)
        {
            _liveNodes.Add(writer); // seen beating since this node's first beat: a death it will see happen
        }

        CheckSelfLocked(ref changed);
    }

    /// <summary>Pumps look again when this node turns live (its first beat, or back after being cut off) or dead.</summary>
    private void CheckSelfLocked(ref List<AddressId>? changed)
    {
        var live = IsLiveLocked(_self);
        if (live == _selfLive)
        {
            return;
        }

        _selfLive = live;
        foreach (var pair in _wanted)
        {
            if (_leases.TryGetValue(pair.Key, out var slot) && slot.Writer == _self)
            {
                (changed ??= []).Add(pair.Key);
            }
        }
    }

    /// <summary>A tick of the heartbeat timer: beat, unless a beat is under way, which then beats once more for it.</summary>
    private void Beat()
    {
        Interlocked.Increment(ref _ticks);
        if (Interlocked.Exchange(ref _beating, 1) == 0)
        {
            Volatile.Write(ref _beatLoop, Task.Run(BeatLoopAsync));
        }
    }

    private async Task BeatLoopAsync()
    {
        while (true)
        {
            // Ticks are read before the clock: a beat that covers a tick saw the clock at that tick's time or later.
            var upTo = Interlocked.Read(ref _ticks);
            await BeatOnceAsync().ConfigureAwait(false);
            Interlocked.Exchange(ref _beatenUpTo, upTo);
            Volatile.Write(ref _beating, 0);
            if (Interlocked.Read(ref _ticks) == upTo || _stopping.IsCancellationRequested || Interlocked.Exchange(ref _beating, 1) != 0)
            {
                return;
            }
        }
    }

    /// <summary>One beat: this node's heartbeat, applied here, then what it decided (a holder died, this node was cut off, a release failed).</summary>
    private async Task BeatOnceAsync()
    {
        try
        {
            var sent = _time.GetTimestamp();
            var (outcome, seq) = await PublishAsync(_options.NodeSubject(_self), Record(PresenceKind.Beat, default, NowMs), null).ConfigureAwait(false);
            if (outcome == Outcome.Stored)
            {
                // The others' silence is counted in own beats applied: look once this one is.
                await _waitApplied(seq).WaitAsync(_stopping.Token).ConfigureAwait(false);
                Beaten(sent);
            }

            Act(Review());
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: the parting beat hands everything over.
        }
        catch (Exception ex)
        {
            JetStreamLog.PresenceWriteFailed(_logger, _options.NodeSubject(_self), ex); // a beat never takes the node down
        }
    }

    /// <param name="beat">A review after this node's own beat; one for another node's parting beat tells nothing lost (its deaths are counted from now, so they could not be due yet anyway).</param>
    private Decisions Review(bool beat = true)
    {
        List<AddressId>? changed = null, lost = null;
        List<(AddressId Aid, ulong Seq, Want Want)>? acquire = null;
        List<(AddressId Aid, ulong Seq)>? release = null;
        List<(long Node, ulong UpTo)>? purge = null;
        List<(long Dispatcher, ulong Seq)>? claims;
        List<long>? readopted = null;
        var dispatchers = Dispatchers?.Invoke(); // the outbound queue's lock, never taken under this table's
        lock (_lock)
        {
            CheckSelfLocked(ref changed);
            foreach (var (aid, want) in _wanted)
            {
                if (ShouldAcquireLocked(aid, want, out var expected))
                {
                    (acquire ??= []).Add((aid, expected, want));
                }
            }

            foreach (var aid in _heldUnwanted)
            {
                (release ??= []).Add((aid, _leases[aid].Seq));
            }

            lost = ReviewDeathsLocked(beat);
            foreach (var (node, last) in _beats)
            {
                // Every process start is a node of its own: forget the long gone, here and in the stream.
                var silent = _ownBeats - last.SeenAt;
                if (node != _self && silent >= (last.AtMs == 0 ? _options.DeadAfterBeats : PurgeAfterBeats))
                {
                    (purge ??= []).Add((node, last.Seq));
                }
            }

            purge?.ForEach(p => _beats.Remove(p.Node));
            claims = ReviewDispatchLocked(dispatchers, ref readopted);
        }

        return new Decisions(changed, acquire, release, lost, purge, claims, readopted);
    }

    /// <summary>
    /// Leases whose holder died and that no live node took since: nobody pushes them. Told only after this node beat
    /// <see cref="LostAfterBeats"/> more times since it saw the death: every node with a subscriber saw it too by then
    /// (a beat apart, or as fast as a parting beat travels) and its claim, milliseconds long, landed, so an owner who
    /// is online elsewhere is not woken. Only deaths this node saw happen count (a node seen beating
    /// after its own first beat), and addresses it answered for on the strength of the history it read at start
    /// (<see cref="IsPushed"/>): the rest of that history was dealt with by the nodes that saw it.
    /// </summary>
    private List<AddressId>? ReviewDeathsLocked(bool beat)
    {
        List<AddressId>? lost = null;
        List<AddressId>? settled = null;
        foreach (var (aid, diedAt) in _orphans)
        {
            if (_wanted.ContainsKey(aid) || IsPushedLocked(aid))
            {
                (settled ??= []).Add(aid);
            }
            else if (beat && _ownBeats - diedAt >= LostAfterBeats)
            {
                (lost ??= []).Add(aid);
                (settled ??= []).Add(aid);
            }
        }

        settled?.ForEach(aid => _orphans.Remove(aid));
        List<long>? died = null;
        foreach (var node in _liveNodes)
        {
            if (!IsLiveLocked(node))
            {
                (died ??= []).Add(node);
            }
        }

        // Addresses answered "pushed" for a holder known only from the history read at start: nodes that saw it die
        // may have told them lost before those SENDs, so this node orphans them itself once that holder is dead.
        if (_askedOfHistory.Count > 0)
        {
            List<AddressId>? done = null;
            foreach (var aid in _askedOfHistory)
            {
                var holder = _leases.GetValueOrDefault(aid).Writer;
                if (holder == 0 || holder == _self || !IsLiveLocked(holder) || _beats[holder].SeenAt > 0)
                {
                    (done ??= []).Add(aid);
                    if (holder != 0 && holder != _self && !IsLiveLocked(holder) && !_wanted.ContainsKey(aid))
                    {
                        _orphans.TryAdd(aid, _ownBeats);
                    }
                }
            }

            done?.ForEach(aid => _askedOfHistory.Remove(aid));
        }

        if (died is not null)
        {
            _liveNodes.ExceptWith(died);

            // Rare (a node died), so one pass over the leases this node knows is affordable.
            foreach (var (aid, slot) in _leases)
            {
                if (died.Contains(slot.Writer) && !_wanted.ContainsKey(aid))
                {
                    _orphans.TryAdd(aid, _ownBeats);
                }
            }
        }

        return lost;
    }

    /// <summary>Own beats after a death before its unserved leases are told lost (see <see cref="ReviewDeathsLocked"/>).</summary>
    private const int LostAfterBeats = 2;

    /// <summary>Own beats after which a dead node's subject is purged: long past any doubt, and cheap (one purge per process that ever ran).</summary>
    private int PurgeAfterBeats => 10 * _options.DeadAfterBeats;

    private void Act(Decisions decisions)
    {
        if (_stopping.IsCancellationRequested)
        {
            return; // the parting beat hands everything over; the hub may be closed already
        }

        decisions.Purge?.ForEach(p => _ = PurgeNodeAsync(p.Node, p.UpTo));
        decisions.Acquire?.ForEach(a => _ = AcquireAsync(a.Aid, a.Seq, a.Want));
        decisions.Release?.ForEach(r => _ = ReleaseAsync(r.Aid, r.Seq));
        decisions.Claims?.ForEach(c => _ = ClaimDispatchAsync(c.Dispatcher, c.Seq));
        decisions.Readopted?.ForEach(TellAdopted);
        Tell(decisions.Changed);
        Tell(decisions.Lost, PushLost);
    }

    /// <summary>
    /// Drops a dead node's heartbeats from the stream, so that nodes starting later neither read nor keep them. A node
    /// never seen is dead, so its leases read the same with or without them; if it was only cut off and beats again,
    /// its new beat makes it live, and is kept: only the beats up to the newest this node applied are purged. Every
    /// node may purge it (idempotent); failing is harmless, a later start does it.
    /// </summary>
    private async Task PurgeNodeAsync(long node, ulong upTo)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.NodeTimeout, _time);
            using var stopping = _stopping.Token.UnsafeRegister(static t => ((CancellationTokenSource)t!).Cancel(), timeout);
            await _js.PurgeStreamAsync(_options.PresenceStream, new StreamPurgeRequest { Filter = _options.NodeSubject(node), Seq = upTo + 1 }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException)
        {
            JetStreamLog.PresenceWriteFailed(_logger, _options.NodeSubject(node), ex);
        }
    }

    private void Tell(List<AddressId>? changed) => Tell(changed, PushChanged);

    /// <summary>Calls the hub back; what it throws is logged, never let into the follower (which would fail the store) or the beat.</summary>
    private void Tell(List<AddressId>? addresses, Action<AddressId>? told)
    {
        if (addresses is null || told is null)
        {
            return;
        }

        foreach (var aid in addresses)
        {
            try
            {
                told(aid);
            }
            catch (Exception ex)
            {
                JetStreamLog.PresenceCallbackFailed(_logger, aid.ToString(), ex);
            }
        }
    }
}
