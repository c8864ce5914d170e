using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Storage;

/// <summary>One write of an <see cref="InMemoryStorage"/>: the unit of its log and of its durability.</summary>
internal abstract record InMemoryRecord(AddressId Aid)
{
    internal sealed record Created(AddressId Aid, byte[] Key, long CreatedAt, long ExpiresAt) : InMemoryRecord(Aid);

    internal sealed record Revoked(AddressId Aid, long At) : InMemoryRecord(Aid);

    internal sealed record Renewed(AddressId Aid, long ExpiresAt) : InMemoryRecord(Aid);

    internal sealed record PolicySet(AddressId Aid, DeliveryPolicy Policy) : InMemoryRecord(Aid);

    internal sealed record NotifySet(AddressId Aid, string? Endpoint) : InMemoryRecord(Aid);

    internal sealed record Message(AddressId Aid, long ReceivedAtUnixMs, byte[] Payload) : InMemoryRecord(Aid);

    internal sealed record Removed(AddressId Aid, long[] Ids, bool Expired) : InMemoryRecord(Aid);
}
