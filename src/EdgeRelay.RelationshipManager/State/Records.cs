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

/// <param name="Position">Order among services: sending services are tried in it, our cards announced in it.</param>
/// <param name="SendingMode">The mode asked of a sending service (1 immediate, 2 batched), where it offers it.</param>
/// <param name="SunsetAt">When the user retired it as a receiving service: no new address there from then on.</param>
internal sealed record ServiceRecord(long Id, string Endpoint, byte[]? Pin, ServiceRoles Roles, byte[]? SealedToken, long Position = 0, byte SendingMode = 1, DateTimeOffset? SunsetAt = null, DateTimeOffset? RemovedAt = null)
{
    public bool IsActiveReceiving => Roles.HasFlag(ServiceRoles.Receiving) && SunsetAt is null && RemovedAt is null;

    public bool IsSending => Roles.HasFlag(ServiceRoles.Sending) && SealedToken is not null && RemovedAt is null;
}

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

/// <summary>The statuses of an incoming message (<c>messages.status</c> with direction 0).</summary>
internal static class IncomingStatus
{
    /// <summary>Stored, never handed to the app to show.</summary>
    public const int New = 0;

    /// <summary>Shown: the app marked it read.</summary>
    public const int Shown = 1;

    /// <summary>The app began showing it and has not marked it read: it may or may not have been shown.</summary>
    public const int Showing = 2;
}

internal sealed record MessageRecord(long Id, long RelationshipId, byte[] CommandId, MessageDirection Direction, string Text, DateTimeOffset SentAt, DateTimeOffset At, int Status);

/// <param name="HandedTo">The sending service that queued it (SEND_VIA) and has not yet reported it stored; null while no relay holds it.</param>
/// <param name="CardIndex">Which of the contact's unexpired cards it went (or goes) to, and at which of its endpoints: an index into the cards expanded one entry per endpoint (a card without alternatives is one entry).</param>
internal sealed record OutboxRecord(
    long Id,
    long RelationshipId,
    byte[] Envelope,
    byte[] Card,
    byte[] CommandId,
    DateTimeOffset CreatedAt,
    int Attempts,
    long? HandedTo = null,
    long SendId = 0,
    DateTimeOffset? HandedAt = null,
    int CardIndex = 0);

/// <summary>One of our addresses as a relationship's: announced to the contact until <see cref="ReplacedAt"/>, collected until it expires.</summary>
internal sealed record OurCardRecord(long RelationshipId, OwnAddressRecord Address, DateTimeOffset AddedAt, DateTimeOffset? ReplacedAt);
