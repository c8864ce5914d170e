namespace EdgeRelay.Storage;

/// <summary>
/// What a reply waits for before it promises "stored": returned by every write of a store, redeemed with
/// <see cref="IDurability.IsDurable"/> or <see cref="IDurability.WaitDurableAsync"/>.
/// </summary>
/// <remarks>
/// <para>Tickets of one store are ordered: a store makes its writes durable in the order it handed out
/// their tickets, so once a ticket is durable every smaller one is too. That is what lets a connection
/// keep its replies in request order while waiting only for the newest, and lets a push pump wait for the
/// newest arrival instead of each. A ticket means nothing to another store instance.</para>
/// <para><see cref="None"/> (the default) is durable by definition: the reply to a request that wrote
/// nothing (a repeated revocation, an empty ACK) carries it.</para>
/// </remarks>
public readonly struct DurabilityTicket : IEquatable<DurabilityTicket>, IComparable<DurabilityTicket>
{
    private DurabilityTicket(long position)
    {
        Position = position;
    }

    /// <summary>Nothing to wait for.</summary>
    public static DurabilityTicket None => default;

    /// <summary>
    /// The backend's position of the write in its durability order (a log address, a publish sequence);
    /// 0 for <see cref="None"/>. Only the backend that issued it may interpret it.
    /// </summary>
    public long Position { get; }

    public bool IsNone => Position == 0;

    /// <summary>For backends: the ticket of a write at <paramref name="position"/> (positive; larger is later).</summary>
    public static DurabilityTicket At(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(position);
        return new DurabilityTicket(position);
    }

    /// <summary>The later of two tickets of one store: durable only when both are.</summary>
    public static DurabilityTicket Latest(DurabilityTicket a, DurabilityTicket b) => a.Position >= b.Position ? a : b;

    public int CompareTo(DurabilityTicket other) => Position.CompareTo(other.Position);

    public bool Equals(DurabilityTicket other) => Position == other.Position;

    public override bool Equals(object? obj) => obj is DurabilityTicket other && Equals(other);

    public override int GetHashCode() => Position.GetHashCode();

    public override string ToString() => IsNone ? "none" : "ticket@" + Position.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool operator ==(DurabilityTicket left, DurabilityTicket right) => left.Equals(right);

    public static bool operator !=(DurabilityTicket left, DurabilityTicket right) => !left.Equals(right);

    public static bool operator <(DurabilityTicket left, DurabilityTicket right) => left.Position < right.Position;

    public static bool operator >(DurabilityTicket left, DurabilityTicket right) => left.Position > right.Position;

    public static bool operator <=(DurabilityTicket left, DurabilityTicket right) => left.Position <= right.Position;

    public static bool operator >=(DurabilityTicket left, DurabilityTicket right) => left.Position >= right.Position;
}
