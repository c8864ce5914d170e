namespace EdgeRelay.Storage.JetStream;

// Who is live: heartbeats, judged in stream order for the other nodes and by its own clock for this one.
internal sealed partial class Presence
{
    /// <summary>Leases this node wants and may take now, ones it holds and no longer wants, and what to tell the hub.</summary>
    private sealed record Decisions(List<AddressId>? Changed, List<(AddressId Aid, ulong Seq, Want Want)>? Acquire, List<(AddressId Aid, ulong Seq)>? Release, List<AddressId>? Lost);

    /// <summary>
    /// Whether <paramref name="node"/> is live. This node: its newest stored heartbeat is younger than
    /// <see cref="JetStreamStorageOptions.NodeTimeout"/> by its own clock, so a node cut off from the stream stops
    /// pushing by itself. Another node: fewer than <see cref="JetStreamStorageOptions.DeadAfterBeats"/> of this node's
    /// own heartbeats follow its newest one in the stream.
    /// </summary>
    /// <remarks>
    /// Counting in stream order, not comparing clocks: a node's beat that the stream holds after this node's is a
    /// fact every node applies alike, whatever the clocks say and however late this node's follower is. After an
    /// outage of the stream nobody is judged dead by the time that passed: a live holder's first beats land among the
    /// others' first beats, well before they count to the limit. A node never seen (its subject gone, or a node that
    /// never beat) is dead; one seen before this node's first own beat counts from there.
    /// </remarks>
    private bool IsLiveLocked(long node)
    {
        if (!_beats.TryGetValue(node, out var beat) || beat.AtMs == 0)
        {
            return false;
        }

        // A beat from a clock slightly ahead of this one reads as "just now", not as dead.
        return node == _self
            ? NowMs - beat.AtMs < (long)_options.NodeTimeout.TotalMilliseconds
            : _ownBeats - beat.SeenAt < _options.DeadAfterBeats;
    }

    private bool IsPushedLocked(AddressId aid) => _leases.TryGetValue(aid, out var slot) && slot.Writer != 0 && IsLiveLocked(slot.Writer);

    /// <summary>A heartbeat record, in stream order: this node's own ones count the others' silence.</summary>
    private void ApplyBeatLocked(long writer, long at, ref List<AddressId>? changed)
    {
        if (writer == _self && at != 0)
        {
            _ownBeats++;
        }

        _beats[writer] = new NodeBeat(at, _ownBeats);
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
            var (outcome, seq) = await PublishAsync(_options.NodeSubject(_self), Record(PresenceKind.Beat, default, NowMs), null).ConfigureAwait(false);
            if (outcome == Outcome.Stored)
            {
                // The others' silence is counted in own beats applied: look once this one is.
                await _waitApplied(seq).WaitAsync(_stopping.Token).ConfigureAwait(false);
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

    private Decisions Review()
    {
        List<AddressId>? changed = null, lost = null;
        List<(AddressId Aid, ulong Seq, Want Want)>? acquire = null;
        List<(AddressId Aid, ulong Seq)>? release = null;
        lock (_lock)
        {
            CheckSelfLocked(ref changed);
            foreach (var (aid, want) in _wanted)
            {
                if (ShouldAcquireLocked(aid, want, takeOver: false, out var expected))
                {
                    (acquire ??= []).Add((aid, expected, want));
                }
            }

            foreach (var aid in _heldUnwanted)
            {
                (release ??= []).Add((aid, _leases[aid].Seq));
            }

            lost = ReviewDeathsLocked();
        }

        return new Decisions(changed, acquire, release, lost);
    }

    /// <summary>
    /// Leases whose holder died at the previous review and that no live node took since: nobody pushes them. Waiting
    /// one review gives a node with a subscriber the time to take the lease first (its claim lands in milliseconds),
    /// so an owner who is online elsewhere is not woken.
    /// </summary>
    private List<AddressId>? ReviewDeathsLocked()
    {
        List<AddressId>? lost = null;
        foreach (var aid in _orphans)
        {
            if (!_wanted.ContainsKey(aid) && !IsPushedLocked(aid))
            {
                (lost ??= []).Add(aid);
            }
        }

        _orphans.Clear();
        List<long>? died = null;
        foreach (var node in _liveNodes)
        {
            if (!IsLiveLocked(node))
            {
                (died ??= []).Add(node);
            }
        }

        foreach (var (node, _) in _beats)
        {
            if (node != _self && IsLiveLocked(node))
            {
                _liveNodes.Add(node);
            }
        }

        if (died is not null)
        {
            _liveNodes.ExceptWith(died);

            // Rare (a node died), so one pass over the leases this node knows is affordable.
            foreach (var (aid, slot) in _leases)
            {
                if (died.Contains(slot.Writer) && !_wanted.ContainsKey(aid))
                {
                    _orphans.Add(aid);
                }
            }
        }

        return lost;
    }

    private void Act(Decisions decisions)
    {
        decisions.Acquire?.ForEach(a => _ = AcquireAsync(a.Aid, a.Seq, a.Want));
        decisions.Release?.ForEach(r => _ = ReleaseAsync(r.Aid, r.Seq));
        Tell(decisions.Changed);
        if (decisions.Lost is not null && PushLost is { } told)
        {
            decisions.Lost.ForEach(told);
        }
    }

    private void Tell(List<AddressId>? changed)
    {
        if (changed is not null && PushChanged is { } told)
        {
            changed.ForEach(told);
        }
    }
}
