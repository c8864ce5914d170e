namespace EdgeRelay.Storage;

/// <summary>
/// Who pushes and who wakes, when several relay nodes serve one store: an address' owner may be subscribed on
/// more than one node (two connections, or a stale one on a node that is going away), and a burst for an offline
/// owner may be accepted by several nodes. A shared store makes one node at a time the pusher of an address (its
/// push lease) and lets one node per burst wake the owner.
/// </summary>
/// <remarks>
/// A store that only one node uses needs none of it: <see cref="SingleNodeCoordination"/> says "always yours" at
/// no cost, and the push hub then decides as it always did.
/// </remarks>
public interface IDeliveryCoordination
{
    /// <summary>
    /// Told with an address whose lease this node just gained or lost (or regained after being cut off): its pump
    /// should look again. Called on the store's own thread; keep it cheap.
    /// </summary>
    Action<AddressId>? PushChanged { get; set; }

    /// <summary>
    /// Told with an address whose push lease holder died and that no live node took over since: nobody pushes it, and
    /// a SEND accepted while the holder still looked live woke no one. Each node that saw the holder die and has no
    /// subscriber of the address is told, once; each may claim a wake-up (one wins) if messages wait. Called on the
    /// store's own thread; keep it cheap.
    /// </summary>
    Action<AddressId>? PushLost { get; set; }

    /// <summary>True while this node holds the push lease of <paramref name="aid"/>: its subscribers are the ones pushed to.</summary>
    bool MayPush(AddressId aid);

    /// <summary>
    /// A new subscriber of <paramref name="aid"/> here: the owner's newest connection, the one most likely alive (an
    /// older one, maybe on another node, may be half-open and would hold the lease until its session timed out). This
    /// node takes the push lease over, even from a live holder, unless a newer subscriber's node takes it meanwhile;
    /// it then keeps wanting it, and takes it when it is released or its holder dies.
    /// </summary>
    /// <remarks>Counted, once per subscription: every call is matched by one <see cref="DropPush"/>; the lease is released after the last.</remarks>
    void WantPush(AddressId aid);

    /// <summary>One reason to hold the lease of <paramref name="aid"/> went away (see <see cref="WantPush"/>).</summary>
    void DropPush(AddressId aid);

    /// <summary>True when a live node (this one or another) holds the push lease of <paramref name="aid"/>: its owner is online, no wake-up.</summary>
    bool IsPushed(AddressId aid);

    /// <summary>
    /// Claims the wake-up of <paramref name="aid"/>'s owner for the current burst: true for exactly one of the nodes
    /// asking, false while another node's claim is younger than <paramref name="quietPeriod"/> (and the owner has not
    /// been back since, see <see cref="OwnerActive"/>).
    /// </summary>
    ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod);

    /// <summary>The owner of <paramref name="aid"/> connected (PULL or SUBSCRIBE): the next message may wake it again, whichever node accepts it.</summary>
    void OwnerActive(AddressId aid);
}

/// <summary>One node serves every owner: it always holds the lease and every wake-up claim is its own to decide.</summary>
public sealed class SingleNodeCoordination : IDeliveryCoordination
{
    public static readonly SingleNodeCoordination Instance = new();

    private SingleNodeCoordination()
    {
    }

    /// <summary>Never told (the lease never moves), and not kept: a process-wide instance must not hold a hub alive.</summary>
    public Action<AddressId>? PushChanged
    {
        get => null;
        set { }
    }

    /// <summary>Never told (no other node can die holding a lease), and not kept.</summary>
    public Action<AddressId>? PushLost
    {
        get => null;
        set { }
    }

    public bool MayPush(AddressId aid) => true;

    public void WantPush(AddressId aid)
    {
    }

    public void DropPush(AddressId aid)
    {
    }

    /// <summary>False: the hub knows its own subscribers, and there is no other node.</summary>
    public bool IsPushed(AddressId aid) => false;

    public ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod) => new(true);

    public void OwnerActive(AddressId aid)
    {
    }
}
