using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

// Rows of the state database (Schema.cs), as the facade reads and writes them. Sealed columns stay
// sealed here: opening them is the facade's business, with the key store's state key.

[Flags]
internal enum ServiceRoles
{
    None = 0,
    Receiving = 1,
    Sending = 2,
}

internal sealed record ServiceRecord(long Id, string Endpoint, byte[]? Pin, ServiceRoles Roles, byte[]? SealedToken);

internal enum OwnAddressState
{
    Unused = 0,
    Invitation = 1,
    Relationship = 2,
    Revoked = 3,
}

internal sealed record OwnAddressRecord(AddressId Aid, byte[] Card, long ServiceId, byte[] SealedOwnerKey, DateTimeOffset ExpiresAt, OwnAddressState State);

internal sealed record InvitationRecord(byte[] Id, AddressId Aid, byte[] SealedSecrets, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, long? RelationshipId);

internal sealed record RelationshipRecord(
    long Id,
    string Name,
    PublicIdentity Identity,
    bool Verified,
    RelationshipState State,
    AddressId OurAddress,
    byte[] SealedRatchet,
    DeliveryPolicy Policy,
    bool ReadReceipts,
    DateTimeOffset CreatedAt);

internal sealed record TheirCardRecord(int Position, AddressId Aid, byte[] Card, DateTimeOffset ExpiresAt, DateTimeOffset? RefreshRequestedAt = null);

internal enum MessageDirection
{
    In = 0,
    Out = 1,
}

internal sealed record MessageRecord(long Id, long RelationshipId, byte[] CommandId, MessageDirection Direction, string Text, DateTimeOffset SentAt, DateTimeOffset At, int Status);

internal sealed record OutboxRecord(long Id, long RelationshipId, byte[] Envelope, byte[] Card, byte[] CommandId, DateTimeOffset CreatedAt, int Attempts);
