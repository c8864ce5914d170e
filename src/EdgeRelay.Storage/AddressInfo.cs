namespace EdgeRelay.Storage;

/// <summary>
/// What the store knows of one long-term address. Immutable: <see cref="RelayStore.TryGetAddress"/>
/// hands out the registry's own instance (no allocation per lookup), and a revocation replaces it
/// with a new one, so a reference held by a session never changes under it.
/// </summary>
public sealed class AddressInfo
{
    /// <summary>Length of an Ed25519 public key, the only owner key kind for now.</summary>
    public const int OwnerPublicKeyLength = 32;

    internal AddressInfo(AddressId id, ReadOnlyMemory<byte> ownerPublicKey, long createdAt, long expiresAt, long revokedAt)
    {
        Id = id;
        OwnerPublicKey = ownerPublicKey;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        RevokedAt = revokedAt;
    }

    public AddressId Id { get; }

    /// <summary>The owner's Ed25519 public key (32 bytes), registered at creation; the store never hands out a writable view.</summary>
    public ReadOnlyMemory<byte> OwnerPublicKey { get; }

    /// <summary>Creation time, unix seconds.</summary>
    public long CreatedAt { get; }

    /// <summary>Expiry, unix seconds: appends are refused once now &gt;= this value.</summary>
    public long ExpiresAt { get; }

    /// <summary>Revocation time, unix seconds; 0 while not revoked.</summary>
    public long RevokedAt { get; }

    public bool IsRevoked => RevokedAt != 0;

    internal AddressInfo WithRevokedAt(long revokedAt) =>
        new(Id, OwnerPublicKey, CreatedAt, ExpiresAt, revokedAt);
}
