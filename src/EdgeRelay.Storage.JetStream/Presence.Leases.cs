namespace EdgeRelay.Storage.JetStream;

// Push leases: one holder per address, taken by compare-and-set, held while the holder beats. A node's first subscriber
// of an address takes the lease from a live holder too: the newest connection is served, and an older one that went
// half-open (which its node only notices at the session's idle timeout) does not keep the owner's push hostage.
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
        Want? want;
        lock (_lock)
        {
            if (!_wanted.TryGetValue(aid, out want))
            {
                _wanted.Add(aid, want = new Want());
            }

            _heldUnwanted.Remove(aid);
            if (!ShouldAcquireLocked(aid, want, takeOver: want.Count++ == 0, out expected))
            {
                return;
            }
        }

        _ = AcquireAsync(aid, expected, want);
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

    /// <summary>
    /// True when this node wants the lease, does not hold it, is not already asking, and either no live node holds it
    /// or <paramref name="takeOver"/> (a first subscriber here); the sequence to expect.
    /// </summary>
    /// <remarks>
    /// A take-over is one compare-and-set from the record in force. If it loses, the record that beat it is a newer
    /// claim (another node's first subscriber: newest wins either way) or a release, and the usual rule goes on.
    /// </remarks>
    private bool ShouldAcquireLocked(AddressId aid, Want want, bool takeOver, out ulong expected)
    {
        var slot = _leases.GetValueOrDefault(aid);
        expected = slot.Seq;
        if (want.Attempting || slot.Writer == _self)
        {
            return false;
        }

        // Otherwise wait for a dead or released holder; and after losing a race from this record, for the winner's
        // record (on its way here) to be applied: ask again only past it.
        if (!takeOver && ((slot.Writer != 0 && IsLiveLocked(slot.Writer)) || (want.ConflictAt is { } lost && slot.Seq <= lost)))
        {
            return false;
        }

        want.Attempting = true;
        return true;
    }

    private async Task AcquireAsync(AddressId aid, ulong expected, Want want)
    {
        var (outcome, _) = await PublishAsync(_options.LeaseSubject(aid), Record(PresenceKind.Lease, aid, NowMs, expected), expected).ConfigureAwait(false);
        lock (_lock)
        {
            if (!_wanted.TryGetValue(aid, out var current) || current != want)
            {
                return; // dropped meanwhile (and maybe wanted anew, with its own claim): if stored, applying it releases it
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
