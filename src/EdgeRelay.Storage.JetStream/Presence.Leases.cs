namespace EdgeRelay.Storage.JetStream;

// Push leases: one holder per address, taken by compare-and-set, held while the holder beats. Every new subscriber
// takes the lease from a live holder too (a take-over): the newest connection is served, and an older one that went
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
            if (!_leases.TryGetValue(aid, out var slot) || slot.Writer == 0 || !IsLiveLocked(slot.Writer))
            {
                return false;
            }

            // Live only as far as the history this node read when it started: if that holder turns out dead, nobody
            // else may tell this address lost (see ReviewDeathsLocked), so remember it was answered for.
            if (slot.Writer != _self && _beats[slot.Writer].SeenAt == 0)
            {
                _askedOfHistory.Add(aid);
            }

            return true;
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

            want.Count++;

            // The newest subscriber: take the lease over until this node holds it or a newer one elsewhere did. Also
            // when the table shows it held here but a release is on its way, or this node is cut off meanwhile.
            var releasing = _heldUnwanted.Remove(aid);
            if (releasing || _leases.GetValueOrDefault(aid).Writer != _self || !IsLiveLocked(_self))
            {
                want.TakeOver = true;
            }

            if (!ShouldAcquireLocked(aid, want, out expected))
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
    /// or it means to take the lease over (<see cref="Want.TakeOver"/>); the sequence to expect.
    /// </summary>
    /// <remarks>
    /// A take-over is asked again, from each newer record, until this node holds the lease or applies another node's
    /// take-over (a newer subscriber there: newest wins). A claim that failed (no answer) is asked again at the next
    /// beat; one that lost waits for the record that beat it to be applied here first.
    /// </remarks>
    private bool ShouldAcquireLocked(AddressId aid, Want want, out ulong expected)
    {
        var slot = _leases.GetValueOrDefault(aid);
        expected = slot.Seq;
        if (want.Attempting || slot.Writer == _self)
        {
            return false;
        }

        // Otherwise wait for a dead or released holder; and after losing a race from this record, for the winner's
        // record (on its way here) to be applied: ask again only past it.
        if ((!want.TakeOver && slot.Writer != 0 && IsLiveLocked(slot.Writer)) || (want.ConflictAt is { } lost && slot.Seq <= lost))
        {
            return false;
        }

        want.Attempting = true;
        return true;
    }

    private async Task AcquireAsync(AddressId aid, ulong expected, Want want)
    {
        PresenceKind kind;
        lock (_lock)
        {
            kind = want.TakeOver ? PresenceKind.TakeOver : PresenceKind.Lease;
        }

        var (outcome, _) = await PublishAsync(_options.LeaseSubject(aid), Record(kind, aid, NowMs, expected), expected).ConfigureAwait(false);
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

        /// <summary>A new subscriber arrived here: take the lease even from a live holder (see <see cref="ShouldAcquireLocked"/>).</summary>
        public bool TakeOver { get; set; }

        public ulong? ConflictAt { get; set; }
    }
}
