namespace EdgeRelay.Storage.JetStream;

// Push leases: one holder per address, taken by compare-and-set, held while the holder beats.
internal sealed partial class Presence
{
    public bool MayPush(AddressId aid)
    {
        lock (_lock)
        {
            if (!_leases.TryGetValue(aid, out var slot) || slot.Writer != _self)
            {
                return false;
            }

            if (IsLiveLocked(_self))
            {
                return true;
            }

            // Seen stale here first (no beat or review sampled this moment): remember it, so that the beat that makes
            // this node live again tells the pumps that stopped here to look again.
            _selfLive = false;
            return false;
        }
    }

    public bool IsPushed(AddressId aid)
    {
        lock (_lock)
        {
            return _leases.TryGetValue(aid, out var slot) && slot.Writer != 0 && IsLiveLocked(slot.Writer);
        }
    }

    public void WantPush(AddressId aid)
    {
        ulong expected;
        lock (_lock)
        {
            if (!_wanted.TryGetValue(aid, out var want))
            {
                _wanted.Add(aid, want = new Want());
            }

            want.Count++;
            _heldUnwanted.Remove(aid);
            if (!ShouldAcquireLocked(aid, want, out expected))
            {
                return;
            }
        }

        _ = AcquireAsync(aid, expected);
    }

    public void DropPush(AddressId aid)
    {
        ulong expected;
        lock (_lock)
        {
            if (!_wanted.TryGetValue(aid, out var want) || --want.Count > 0)
            {
                return;
            }

            _wanted.Remove(aid);
            if (!_leases.TryGetValue(aid, out var slot) || slot.Writer != _self)
            {
                return; // not held (yet): if our claim lands after all, applying it releases it
            }

            _heldUnwanted.Add(aid);
            expected = slot.Seq;
        }

        _ = ReleaseAsync(aid, expected);
    }

    /// <summary>True when this node wants the lease, is not already asking, and no live node holds it; the sequence to expect.</summary>
    private bool ShouldAcquireLocked(AddressId aid, Want want, out ulong expected)
    {
        var slot = _leases.GetValueOrDefault(aid);
        expected = slot.Seq;
        if (want.Attempting || slot.Writer == _self || (slot.Writer != 0 && IsLiveLocked(slot.Writer)))
        {
            return false;
        }

        // Lost a race from this record: the winner's record is on its way here; ask again only past it.
        if (want.ConflictAt is { } lost && slot.Seq <= lost)
        {
            return false;
        }

        want.Attempting = true;
        return true;
    }

    private async Task AcquireAsync(AddressId aid, ulong expected)
    {
        var (outcome, _) = await PublishAsync(_options.LeaseSubject(aid), Record(PresenceKind.Lease, aid, NowMs, expected), expected).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_wanted.TryGetValue(aid, out var want))
            {
                return; // if it was stored, applying it releases it
            }

            if (outcome == Outcome.Stored)
            {
                return; // applying it tells the pump, if it was first
            }

            want.Attempting = false;
            if (outcome == Outcome.Conflict)
            {
                want.ConflictAt = expected;
            }
        }
    }

    private Task<(Outcome Outcome, ulong Seq)> ReleaseAsync(AddressId aid, ulong expected) =>
        PublishAsync(_options.LeaseSubject(aid), Record(PresenceKind.Release, aid, NowMs, expected), expected);

    /// <summary>This node's subscribers of one address: how many reasons to hold the lease, and the state of its claim.</summary>
    private sealed class Want
    {
        public int Count { get; set; }

        public bool Attempting { get; set; }

        public ulong? ConflictAt { get; set; }
    }
}
