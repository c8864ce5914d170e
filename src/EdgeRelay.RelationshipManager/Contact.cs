using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager;

/// <summary>A correspondent, as the user sees them: a snapshot, not a live object.</summary>
/// <param name="Id">Stable local id (names need not be unique).</param>
/// <param name="Name">Their preferred name, as they last announced it.</param>
/// <param name="Identity">Their identity keys.</param>
/// <param name="Verified">Whether the user compared safety numbers and confirmed them.</param>
/// <param name="State">Where the relationship stands.</param>
/// <param name="Policy">How our relay delivers their messages to us.</param>
/// <param name="ReadReceipts">Whether we tell them when we have read their messages.</param>
/// <param name="Since">When the relationship was established.</param>
public sealed record Contact(long Id, string Name, PublicIdentity Identity, bool Verified, RelationshipState State, DeliveryPolicy Policy, bool ReadReceipts, DateTimeOffset Since);

/// <summary>A message id: the command id of docs/RM-PROTOCOL.md §6, which receipts name.</summary>
public readonly record struct MessageId(string Value)
{
    internal static MessageId From(byte[] commandId) => new(Convert.ToHexStringLower(commandId));

    internal static MessageId From(Envelopes.CommandId commandId) => From(commandId.ToArray());

    internal byte[] ToBytes() => Convert.FromHexString(Value);

    public override string ToString() => Value;
}

public enum MessageStatus
{
    /// <summary>Sealed and stored; no relay has accepted it yet (it is retried).</summary>
    Queued = 0,

    /// <summary>A relay accepted it (durably).</summary>
    Sent = 1,

    /// <summary>Their RM received it.</summary>
    Delivered = 2,

    /// <summary>They read it (only if they send read receipts).</summary>
    Read = 3,
}

/// <summary>A message in the conversation with a contact.</summary>
public sealed record StoredMessage(MessageId Id, bool Outgoing, string Text, DateTimeOffset SentAt, DateTimeOffset At, MessageStatus Status);
