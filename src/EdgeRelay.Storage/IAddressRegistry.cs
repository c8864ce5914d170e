using System.Diagnostics.CodeAnalysis;

namespace EdgeRelay.Storage;

/// <summary>
/// The long-term addresses a relay issued: who owns each (an Ed25519 key), until when, whether revoked,
/// and the owner's settings (delivery policy, wake-up endpoint).
/// </summary>
/// <remarks>
/// <para>Every change is a write with a <see cref="DurabilityTicket"/>: the relay hands out a card, or
/// confirms a change, only once its ticket is durable. A change is visible to lookups at once (before it is
/// durable), as appends are; a crash before durability loses it, and then no one was told of it.</para>
/// <para>Writes may wait for room in the store (a full log buffer) and so are asynchronous; none blocks a
/// thread. Lookups are synchronous and allocation-free: the SEND path makes one per message.</para>
/// </remarks>
public interface IAddressRegistry
{
    /// <summary>The registry's current, immutable view of the address (shared: no allocation per lookup).</summary>
    bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info);

    /// <summary>Registers a new address owned by <paramref name="ownerPublicKey"/> (Ed25519, 32 bytes).</summary>
    /// <exception cref="InvalidOperationException">The address already exists (revoked or not).</exception>
    /// <exception cref="ArgumentException">Empty id, key not 32 bytes, or an expiry not after now.</exception>
    ValueTask<DurabilityTicket> CreateAddressAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct = default);

    /// <summary>
    /// Revokes the address: it accepts no new message; its pending messages stay readable and ackable by the
    /// owner. <see cref="RevokeStatus.AlreadyRevoked"/> writes nothing.
    /// </summary>
    ValueTask<WriteResult<RevokeStatus>> RevokeAsync(AddressId aid, CancellationToken ct = default);

    /// <summary>Moves the expiry to <paramref name="expiresAtUnixSeconds"/>. A revoked or already expired address is not renewed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The new expiry is not after now.</exception>
    ValueTask<WriteResult<AddressUpdateStatus>> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct = default);

    /// <summary>Sets the delivery policy; it survives restarts.</summary>
    /// <exception cref="ArgumentException">The policy is not valid (<see cref="DeliveryPolicy.IsValid"/>).</exception>
    ValueTask<WriteResult<AddressUpdateStatus>> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct = default);

    /// <summary>Sets (or, with null, clears) where wake-ups for this address go.</summary>
    /// <exception cref="ArgumentException">The endpoint is empty or longer than <see cref="AddressInfo.MaxNotifyEndpointBytes"/> in UTF-8.</exception>
    ValueTask<WriteResult<AddressUpdateStatus>> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct = default);
}
