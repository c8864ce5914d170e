using System.Buffers.Binary;

namespace EdgeRelay.Storage.JetStream;

// The table follows the stream: every node applies the same records in the same order to the same state.
internal sealed partial class Presence
{
    /// <summary>Applies one record of the presence stream (the follower's thread, in stream order).</summary>
    /// <remarks>
    /// A claim counts only if it was based on the record in force: JetStream before 2.9.21 checked a publish's
    /// expected subject sequence ahead of its RAFT proposal, so two claims racing from one record could both be
    /// stored (nats-server issue 4320). Judged here, in stream order, the first one wins on every node alike; the
    /// later one only moves the subject's sequence on. A node joining later may no longer find the first (the stream
    /// keeps a subject's last four records), so the winner writes its claim again over the later one. nats-server
    /// 2.9.21 and later refuse the second claim themselves; this check then never rejects anything.
    /// </remarks>
    public void Apply(ulong seq, byte[] record)
    {
        // A record this version does not know is skipped, not fatal: in a rolling upgrade a newer node may write kinds
        // (or longer records) that this one predates, and every node must go on following the stream.
        var kind = record.Length >= RecordLength ? (PresenceKind)record[0] : default;
        if (kind is < PresenceKind.Beat or > PresenceKind.Dispatch)
        {
            // Once per kind: a newer node may write one every beat.
            if (_skippedKinds.Add(record.Length == 0 ? -1 : record[0]))
            {
                JetStreamLog.PresenceRecordSkipped(_logger, seq, record.Length, record.Length == 0 ? -1 : record[0]);
            }

            return;
        }

        var writer = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(1));
        var aid = AddressId.Read(record.AsSpan(9));
        var at = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(9 + AddressId.Length));
        var basedOn = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(17 + AddressId.Length));
        List<AddressId>? changed = null;
        (PresenceKind Kind, ulong Seq, Want? Want)? write = null;
        long markAt = 0;
        var left = false;
        var adopted = false;
        lock (_lock)
        {
            switch (kind)
            {
                case PresenceKind.Beat:
                    ApplyBeatLocked(seq, writer, at, ref changed);
                    left = at == 0 && writer != _self;
                    break;
                case PresenceKind.Lease or PresenceKind.TakeOver or PresenceKind.Release:
                    write = ApplyLeaseLocked(seq, kind, writer, aid, at, basedOn, ref changed);
                    break;
                case PresenceKind.Wake or PresenceKind.WakeClear:
                    var mark = _wakes.GetValueOrDefault(aid);
                    var accepted = mark.Seq == 0 || basedOn == mark.Seq;
                    _wakes[aid] = accepted ? new Slot(seq, writer, kind == PresenceKind.Wake ? at : 0) : mark with { Seq = seq };
                    _clearing.Remove(aid);
                    if (writer == _self && kind == PresenceKind.Wake)
                    {
                        _verdicts[aid] = (seq, accepted);
                    }

                    if (!accepted && mark.Writer == _self && mark.AtMs != 0)
                    {
                        write = (PresenceKind.Wake, seq, null);
                        markAt = mark.AtMs;
                    }

                    break;
                case PresenceKind.Dispatch:
                    adopted = ApplyDispatchLocked(seq, writer, BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(9)), at, basedOn);
                    break;
            }
        }

        if (adopted && !_stopping.IsCancellationRequested)
        {
            TellAdopted(BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(9)));
        }

        if (write is { } w && !_stopping.IsCancellationRequested) // stopping: the parting beat hands over
        {
            _ = w.Kind switch
            {
                PresenceKind.Lease when w.Want is { } want => AcquireAsync(aid, w.Seq, want),
                PresenceKind.Lease => PublishAsync(_options.LeaseSubject(aid), Record(PresenceKind.Lease, aid, NowMs, w.Seq), w.Seq),
                PresenceKind.Release => ReleaseAsync(aid, w.Seq),
                _ => PublishAsync(_options.WakeSubject(aid), Record(PresenceKind.Wake, aid, markAt, w.Seq), w.Seq),
            };
        }

        if (!_stopping.IsCancellationRequested)
        {
            Tell(changed); // stopping, the hub may be closing: nothing more to push
        }

        if (left)
        {
            // A node that stopped cleanly: its leases pass on now, not at the next beat.
            Act(Review(beat: false));
        }
    }

    /// <summary>A lease record; what this node must write after it (take the lease, release it, or write its claim again).</summary>
    private (PresenceKind Kind, ulong Seq, Want? Want)? ApplyLeaseLocked(ulong seq, PresenceKind kind, long writer, AddressId aid, long at, ulong basedOn, ref List<AddressId>? changed)
    {
        var slot = _leases.GetValueOrDefault(aid);
        var accepted = slot.Seq == 0 || basedOn == slot.Seq;
        var holder = accepted ? (kind == PresenceKind.Release ? 0 : writer) : slot.Writer;
        _leases[aid] = accepted ? new Slot(seq, holder, at) : slot with { Seq = seq };
        if ((slot.Writer == _self) != (holder == _self))
        {
            (changed ??= []).Add(aid);
        }

        if (accepted && holder == _self && slot.Writer != 0 && slot.Writer != _self)
        {
            // Claimed from a holder that died, or from a live one because the owner subscribed here last.
            if (IsLiveLocked(slot.Writer))
            {
                Interlocked.Increment(ref _takeOvers);
                JetStreamLog.LeaseTakenFromLive(_logger, aid.ToString(), slot.Writer);
            }
            else
            {
                Interlocked.Increment(ref _handOvers);
                JetStreamLog.LeaseTakenOver(_logger, aid.ToString());
            }
        }

        if (holder != _self)
        {
            _heldUnwanted.Remove(aid);
        }

        if (_wanted.TryGetValue(aid, out var want))
        {
            want.Attempting = false;

            // A take-over ends once this node holds the lease, or once a newer subscriber's node took it.
            if (holder == _self || (accepted && kind == PresenceKind.TakeOver))
            {
                want.TakeOver = false;
            }

            if (ShouldAcquireLocked(aid, want, out var expected))
            {
                return (PresenceKind.Lease, expected, want);
            }

            // Held here, and a later claim was stored over it: write it again, for nodes that start from here.
            return holder == _self && !accepted ? (PresenceKind.Lease, seq, null) : null;
        }

        if (holder == _self)
        {
            _heldUnwanted.Add(aid); // a claim that landed after its subscriber left
            return (PresenceKind.Release, seq, null);
        }

        return null;
    }
}
