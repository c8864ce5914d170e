using System.Runtime.CompilerServices;

namespace EdgeRelay.Storage;

/// <summary>
/// What the store knows of one long-term address. Immutable: <see cref="IAddressRegistry.TryGetAddress"/>
/// hands out the registry's own instance (no allocation per lookup), and every change (revocation,
/// renewal, policy, notification endpoint) replaces it with a new one, so a reference held by a session
/// never changes under it.
/// </summary>
/// <remarks>
/// A relay keeps one of these for every address it knows, millions of them mostly idle, so the owner key
/// is held inline (32 bytes in the object) rather than as an array of its own: one object per address
/// instead of two, 64 bytes less each.
/// </remarks>
public sealed class AddressInfo
{
    /// <summary>Length of an Ed25519 public key, the only owner key kind for now.</summary>
    public const int OwnerPublicKeyLength = 32;

    /// <summary>Longest notification endpoint the store keeps, in UTF-8 bytes (the relay's own limit is lower).</summary>
    public const int MaxNotifyEndpointBytes = 2048;

    private readonly OwnerKey _ownerPublicKey;

    /// <exception cref="ArgumentException"><paramref name="ownerPublicKey"/> is not <see cref="OwnerPublicKeyLength"/> bytes.</exception>
    public AddressInfo(AddressId id, ReadOnlySpan<byte> ownerPublicKey, long createdAt, long expiresAt, long revokedAt, DeliveryPolicy policy = default, string? notifyEndpoint = null)
    {
        if (ownerPublicKey.Length != OwnerPublicKeyLength)
        {
            throw new ArgumentException($"The owner public key is {OwnerPublicKeyLength} bytes, not {ownerPublicKey.Length}.", nameof(ownerPublicKey));
        }

        Id = id;
        ownerPublicKey.CopyTo(_ownerPublicKey);
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        RevokedAt = revokedAt;
        Policy = policy;
        NotifyEndpoint = notifyEndpoint;
    }

    public AddressId Id { get; }

    /// <summary>The owner's Ed25519 public key (32 bytes), registered at creation; a read-only view of this object's copy.</summary>
    public ReadOnlySpan<byte> OwnerPublicKey => _ownerPublicKey;

    /// <summary>Creation time, unix seconds.</summary>
    public long CreatedAt { get; }

    /// <summary>Expiry, unix seconds: appends are refused once now &gt;= this value. Renewal moves it.</summary>
    public long ExpiresAt { get; }

    /// <summary>Revocation time, unix seconds; 0 while not revoked.</summary>
    public long RevokedAt { get; }

    public bool IsRevoked => RevokedAt != 0;

    /// <summary>How messages reach the owner; immediate push until the owner sets another.</summary>
    public DeliveryPolicy Policy { get; }

    /// <summary>Where a content-free wake-up goes when a message arrives and the owner is not connected; null for none.</summary>
    public string? NotifyEndpoint { get; }

    public AddressInfo WithRevokedAt(long revokedAt) => new(Id, OwnerPublicKey, CreatedAt, ExpiresAt, revokedAt, Policy, NotifyEndpoint);

    public AddressInfo WithExpiresAt(long expiresAt) => new(Id, OwnerPublicKey, CreatedAt, expiresAt, RevokedAt, Policy, NotifyEndpoint);

    public AddressInfo WithPolicy(DeliveryPolicy policy) => new(Id, OwnerPublicKey, CreatedAt, ExpiresAt, RevokedAt, policy, NotifyEndpoint);

    public AddressInfo WithNotifyEndpoint(string? endpoint) => new(Id, OwnerPublicKey, CreatedAt, ExpiresAt, RevokedAt, Policy, endpoint);

    [InlineArray(OwnerPublicKeyLength)]
    private struct OwnerKey
    {
        private byte _element;
    }
}
