namespace EdgeRelay.Storage;

/// <summary>
/// What the store knows of one long-term address. Immutable: <see cref="IAddressRegistry.TryGetAddress"/>
/// hands out the registry's own instance (no allocation per lookup), and every change (revocation,
/// renewal, policy, notification endpoint) replaces it with a new one, so a reference held by a session
/// never changes under it.
/// </summary>
public sealed class AddressInfo
{
    /// <summary>Length of an Ed25519 public key, the only owner key kind for now.</summary>
    public const int OwnerPublicKeyLength = 32;

    /// <summary>Longest notification endpoint the store keeps, in UTF-8 bytes (the relay's own limit is lower).</summary>
    public const int MaxNotifyEndpointBytes = 2048;

    public AddressInfo(AddressId id, ReadOnlyMemory<byte> ownerPublicKey, long createdAt, long expiresAt, long revokedAt, DeliveryPolicy policy = default, string? notifyEndpoint = null)
    {
        Id = id;
        OwnerPublicKey = ownerPublicKey;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        RevokedAt = revokedAt;
        Policy = policy;
        NotifyEndpoint = notifyEndpoint;
    }

    public AddressId Id { get; }

    /// <summary>The owner's Ed25519 public key (32 bytes), registered at creation; the store never hands out a writable view.</summary>
    public ReadOnlyMemory<byte> OwnerPublicKey { get; }

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
}
