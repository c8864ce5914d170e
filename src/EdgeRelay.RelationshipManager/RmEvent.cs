using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager;

/// <summary>Something the relationship manager received: what an inbox shows.</summary>
/// <param name="Contact">Whom it concerns, when it concerns a known contact (the events below that always do say so with a non-null <c>Contact</c>).</param>
public abstract record RmEvent(Contact? Contact, DateTimeOffset At);

/// <summary>A relationship now works both ways.</summary>
/// <param name="TheyAccepted">True when they accepted our invitation; false when they answered after we accepted theirs.</param>
public sealed record ContactEstablished(Contact Contact, bool TheyAccepted, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

public sealed record MessageReceived(Contact Contact, MessageId Id, string Text, DateTimeOffset SentAt, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;

    /// <summary>
    /// True when an earlier run began showing this message (<see cref="RelationshipManager.BeginShowingAsync"/>) and
    /// ended before marking it read: it may have been shown already. Show it marked as possibly repeated; a message
    /// without this mark has never been shown.
    /// </summary>
    public bool MayRepeat { get; init; }
}

public enum ReceiptKind
{
    Delivered = 2,
    Read = 3,
}

/// <summary>Their RM received (or they read) messages we sent.</summary>
public sealed record ReceiptReceived(Contact Contact, IReadOnlyList<MessageId> Messages, ReceiptKind Kind, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>They changed their name, addresses or services.</summary>
public sealed record ContactUpdated(Contact Contact, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>They ended the relationship; we no longer send to them.</summary>
public sealed record ContactTerminated(Contact Contact, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>
/// Someone with an existing contact's name but other keys: held until the user compares safety numbers
/// and accepts the change (<see cref="RelationshipManager.ConfirmVerified"/>).
/// </summary>
public sealed record KeyChangeDetected(Contact Contact, Contact Existing, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>
/// A ciphertext that was not accepted: tampered, for a wrong key, replayed out of bounds, or malformed.
/// Never shown as a message; reported so that an app can log it.
/// </summary>
/// <param name="Code">The stable code of the refusal: an <see cref="Envelopes.EnvelopeError"/> or a <see cref="RefusalCode"/> name.</param>
public sealed record EnvelopeRefused(Contact? Contact, string Code, string Reason, DateTimeOffset At) : RmEvent(Contact, At);

/// <summary>A following inbox connected to a relay, or lost its connection and will retry after <see cref="RetryIn"/>.</summary>
public sealed record ConnectionChanged(string Endpoint, bool Connected, TimeSpan? RetryIn, string? Error, DateTimeOffset At) : RmEvent(null, At);

/// <summary>
/// A group changed: we were added (the first time we hear of it), members joined or departed, it was renamed,
/// the admin handed over, or we were removed (<see cref="Group.Standing"/> says so).
/// </summary>
/// <param name="Contact">Whose command changed it: the admin, or a member who left.</param>
/// <param name="Joined">Members listed now that were not before.</param>
/// <param name="Departed">Members listed before that are not now.</param>
public sealed record GroupChanged(Contact Contact, Group Group, IReadOnlyList<GroupMember> Joined, IReadOnlyList<GroupMember> Departed, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>A message to a group we are a member of, from another member.</summary>
/// <param name="Contact">The sender's relationship with us, when it still exists (it carried the message).</param>
/// <param name="Id">The group message id (mark it read with <see cref="RelationshipManager.MarkGroupRead"/>).</param>
public sealed record GroupMessageReceived(Contact? Contact, GroupId Group, string GroupName, MessageId Id, PublicIdentity Sender, string SenderName, string Text, DateTimeOffset SentAt, DateTimeOffset At) : RmEvent(Contact, At);

/// <summary>Why the relationship manager refused a ciphertext that opened (or could not be placed), beside the envelope's own errors.</summary>
public enum RefusalCode
{
    /// <summary>A message on an address that belongs to no relationship.</summary>
    UnknownAddress = 1,

    /// <summary>A second introduction to an invitation already accepted, by someone else.</summary>
    InvitationUsed = 2,

    /// <summary>An introduction after its invitation expired.</summary>
    InvitationExpired = 3,

    /// <summary>An introduction from someone who is already a contact.</summary>
    AlreadyAContact = 4,

    /// <summary>An introduction inside an established relationship.</summary>
    UnexpectedIntroduce = 5,

    /// <summary>A name with control characters, or a rename to the name of another contact.</summary>
    BadName = 6,

    /// <summary>A ciphertext whose processing failed for a reason its redelivery would meet again.</summary>
    Unprocessable = 7,

    /// <summary>A group command for a group we do not know (docs/RM-PROTOCOL.md §8.3).</summary>
    UnknownGroup = 8,

    /// <summary>A group state, or a forwarded introduction, from someone who is not the admin of our view of the group.</summary>
    NotGroupAdmin = 9,

    /// <summary>A group state whose epoch is not above the one we hold.</summary>
    StaleGroupEpoch = 10,

    /// <summary>A group command from, or naming, someone our view of the group does not list.</summary>
    NotGroupMember = 11,

    /// <summary>A group command for a group we left or were removed from: nothing of it is shown.</summary>
    NotInGroup = 12,

    /// <summary>A group introduction whose invitation is not valid, has expired, or is not its sender's own.</summary>
    BadGroupIntroduction = 13,

    /// <summary>A successor (§9.2) whose invitation is not valid (altered, malformed) or names the sender or us.</summary>
    SuccessorInvalid = 14,

    /// <summary>A successor whose invitation had expired when it arrived.</summary>
    SuccessorExpired = 15,

    /// <summary>A successor whose new identity is already a working contact: a merge (§9.3) is the way to join the two.</summary>
    SuccessorAlreadyAContact = 16,

    /// <summary>A successor, merge or backup in a relationship that is held by a key change or ended.</summary>
    NotWorking = 17,

    /// <summary>A merge (§9.3) naming an identity with which we have no working relationship, or the sender's own.</summary>
    MergeUnknownIdentity = 18,

    /// <summary>A merge whose two halves disagree on which relationship is kept.</summary>
    MergeConflict = 19,

    /// <summary>A backup (§9.1) naming the sender, us, or another working contact.</summary>
    BackupInvalid = 20,
}

/// <summary>
/// A contact's app hands over to a successor app (docs/RM-PROTOCOL.md §9.2) and the relationship was not verified:
/// nothing changes until the user accepts (<see cref="RelationshipManager.AcceptSuccessorAsync"/>) or declines.
/// </summary>
/// <param name="Successor">The identity that would continue the conversation.</param>
/// <param name="SafetyNumber">Our safety number with the successor, to compare with the contact before accepting.</param>
public sealed record SuccessorProposed(Contact Contact, PublicIdentity Successor, string SafetyNumber, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>
/// The conversation with a contact continues with their successor app (docs/RM-PROTOCOL.md §9.2): the same contact,
/// its history kept, now with <see cref="Contact"/>'s new identity; <paramref name="Previous"/> is the one before.
/// </summary>
/// <param name="Automatically">True when no decision was asked of the user: the relationship was verified, or the successor was the announced backup.</param>
public sealed record SuccessorAccepted(Contact Contact, PublicIdentity Previous, bool Automatically, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>
/// Someone who was a correspondent of our predecessor app accepted our successor invitation (docs/RM-PROTOCOL.md §9.2):
/// a new relationship here that continues a conversation they had with our previous identity.
/// </summary>
public sealed record ContactContinued(Contact Contact, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>
/// A contact asks to fold two relationships with them into one (docs/RM-PROTOCOL.md §9.3) and neither was verified (nor named the other as its backup):
/// nothing changes until the user accepts (<see cref="RelationshipManager.AcceptMergeAsync"/>) or declines.
/// </summary>
/// <param name="Contact">The relationship that would be folded (and end).</param>
/// <param name="Into">The relationship that would be kept, with both histories.</param>
public sealed record MergeProposed(Contact Contact, Contact Into, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>Two relationships with one person are one now (docs/RM-PROTOCOL.md §9.3): <paramref name="Into"/> holds both histories.</summary>
public sealed record ContactsMerged(Contact Contact, Contact Into, bool Automatically, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}

/// <summary>A contact named a backup identity (docs/RM-PROTOCOL.md §9.1): recorded as a future identity of theirs.</summary>
public sealed record BackupAnnounced(Contact Contact, PublicIdentity Backup, DateTimeOffset At) : RmEvent(Contact, At)
{
    public new Contact Contact { get; init; } = Contact;
}
