namespace EdgeRelay.Storage.JetStream;

// Who pushes and who wakes among the nodes: the presence stream's table (Presence.cs).
public sealed partial class JetStreamStorage
{
    public Action<AddressId>? PushChanged
    {
        get => _presence.PushChanged;
        set => _presence.PushChanged = value;
    }

    /// <summary>Push leases taken over from a node that stopped beating.</summary>
    public long LeaseHandOvers => _presence.HandOvers;

    /// <summary>Wake-up claims another node had made first in the same burst.</summary>
    public long WakeClaimsLost => _presence.WakeClaimsLost;

    /// <summary>Push leases this node holds.</summary>
    public int LeasesHeld => _presence.LeasesHeld;

    internal long HeartbeatTicks => _presence.Ticks;

    internal long BeatenUpTo => _presence.BeatenUpTo;

    public bool MayPush(AddressId aid) => _presence.MayPush(aid);

    public void WantPush(AddressId aid) => _presence.WantPush(aid);

    public void DropPush(AddressId aid) => _presence.DropPush(aid);

    public bool IsPushed(AddressId aid) => _presence.IsPushed(aid);

    /// <summary>Faults rather than throws once closed: it is reached from the SEND path, which must not throw for a wake-up.</summary>
    public ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod) =>
        Volatile.Read(ref _disposed) != 0
            ? ValueTask.FromException<bool>(new ObjectDisposedException(nameof(JetStreamStorage)))
            : _presence.ClaimWakeAsync(aid, quietPeriod);

    public void OwnerActive(AddressId aid) => _presence.OwnerActive(aid);
}
