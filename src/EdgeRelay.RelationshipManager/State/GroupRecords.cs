using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

// Rows of the group tables (Schema.cs, migration 5), as the facade reads and writes them.

internal sealed record GroupRecord(GroupId Id, string Name, ulong Epoch, GroupStanding Standing, IReadOnlyList<GroupMemberEntry> Members)
{
    /// <summary>The first member: the only one whose group states are taken (docs/RM-PROTOCOL.md §8.1).</summary>
    public PublicIdentity? Admin => Members.Count > 0 ? Members[0].Identity : null;

    public bool Lists(PublicIdentity identity) => Members.Any(m => m.Identity.Equals(identity));

    public GroupMemberEntry? Member(PublicIdentity identity) => Members.FirstOrDefault(m => m.Identity.Equals(identity));
}

internal enum GroupMessageStatus
{
    New = 0,
    Shown = 1,

    /// <summary>From someone our view does not list yet, written at a later epoch: decided when that epoch arrives.</summary>
    Held = 2,
}

internal sealed record GroupMessageRecord(
    long Id,
    GroupId Group,
    PublicIdentity Sender,
    string SenderName,
    byte[] MessageId,
    MessageDirection Direction,
    string Text,
    ulong Epoch,
    DateTimeOffset SentAt,
    DateTimeOffset At,
    GroupMessageStatus Status);

internal sealed record GroupOutboxRecord(long Id, GroupId Group, PublicIdentity Recipient, byte[] Body);

internal enum GroupIntroductionDirection
{
    /// <summary>A member's invitation the admin forwarded to us: accepted after the commit (it needs the relay).</summary>
    ToAccept = 0,

    /// <summary>An invitation we sent a member through the admin.</summary>
    Sent = 1,
}

internal sealed record GroupIntroductionRecord(PublicIdentity Identity, GroupIntroductionDirection Direction, GroupId Group, string Name, byte[]? Invitation, DateTimeOffset At);
