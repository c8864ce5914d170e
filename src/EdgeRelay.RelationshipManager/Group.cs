using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager;

/// <summary>Where we stand in a group (docs/RM-PROTOCOL.md §8.1).</summary>
public enum GroupStanding
{
    /// <summary>Our view lists us: we send to the others and show what they send.</summary>
    Member = 0,

    /// <summary>We left: nothing of the group is sent or shown any more, and it cannot be joined again.</summary>
    Left = 1,

    /// <summary>The admin removed us: nothing of the group is sent or shown unless the admin adds us again.</summary>
    Removed = 2,
}

/// <summary>A member as the group lists them.</summary>
/// <param name="Name">The name the group's admin knows them by.</param>
/// <param name="IsYou">Whether this member is us.</param>
public sealed record GroupMember(PublicIdentity Identity, string Name, bool IsYou);

/// <summary>
/// A group as we see it: a snapshot. Every member that has applied the same <see cref="Epoch"/> sees the same
/// <see cref="Members"/>, in the same order.
/// </summary>
/// <param name="Id">The same at every member.</param>
/// <param name="Epoch">Raised by one at every change of membership or name.</param>
/// <param name="Members">The admin first; it alone changes the list. Empty only for a group we were the last to leave.</param>
public sealed record Group(GroupId Id, string Name, ulong Epoch, IReadOnlyList<GroupMember> Members, GroupStanding Standing)
{
    /// <summary>The first member, who changes the list; null only when <see cref="Members"/> is empty.</summary>
    public GroupMember? Admin => Members.Count > 0 ? Members[0] : null;

    /// <summary>Whether we are the admin, and so may add and remove members.</summary>
    public bool YouAreAdmin => Standing == GroupStanding.Member && Admin is { IsYou: true };
}

/// <summary>A message of a group conversation.</summary>
/// <param name="Id">The group message id, the same at every member.</param>
/// <param name="Sender">Who wrote it (us when <paramref name="Outgoing"/>).</param>
/// <param name="SenderName">Their name as the group listed them when it arrived.</param>
public sealed record StoredGroupMessage(GroupId Group, MessageId Id, PublicIdentity Sender, string SenderName, bool Outgoing, string Text, DateTimeOffset SentAt, DateTimeOffset At);
