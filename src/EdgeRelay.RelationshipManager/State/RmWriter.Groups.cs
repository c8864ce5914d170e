using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

internal sealed partial class RmWriter
{
    /// <summary>Writes our whole view of a group: name, epoch, standing and member list, replacing what was there.</summary>
    public void SetGroup(GroupRecord group, DateTimeOffset now)
    {
        var id = group.Id.ToArray();
        Execute(
            """
            INSERT INTO groups (id, name, epoch, standing, created_at, updated_at) VALUES ($id, $name, $epoch, $standing, $now, $now)
            ON CONFLICT (id) DO UPDATE SET name = $name, epoch = $epoch, standing = $standing, updated_at = $now
            """,
            ("$id", id),
            ("$name", group.Name),
            ("$epoch", unchecked((long)group.Epoch)),
            ("$standing", (long)group.Standing),
            ("$now", now.ToUnixTimeMilliseconds()));
        Execute("DELETE FROM group_members WHERE group_id = $id", ("$id", id));
        for (var i = 0; i < group.Members.Count; i++)
        {
            Execute(
                "INSERT INTO group_members (group_id, position, identity, name) VALUES ($id, $position, $identity, $name)",
                ("$id", id),
                ("$position", (long)i),
                ("$identity", group.Members[i].Identity.Bytes.ToArray()),
                ("$name", group.Members[i].Name));
        }
    }

    /// <summary>Stores a group message. False if the same sender's message id is already stored: a copy to drop.</summary>
    public bool AddGroupMessage(GroupMessageRecord message) =>
        Execute(
            """
            INSERT INTO group_messages (group_id, sender, sender_name, message_id, direction, text, epoch, sent_at, at, status)
            VALUES ($group, $sender, $name, $message, $direction, $text, $epoch, $sent, $at, $status) ON CONFLICT DO NOTHING
            """,
            ("$group", message.Group.ToArray()),
            ("$sender", message.Sender.Bytes.ToArray()),
            ("$name", message.SenderName),
            ("$message", message.MessageId),
            ("$direction", (long)message.Direction),
            ("$text", message.Text),
            ("$epoch", unchecked((long)message.Epoch)),
            ("$sent", message.SentAt.ToUnixTimeMilliseconds()),
            ("$at", message.At.ToUnixTimeMilliseconds()),
            ("$status", (long)message.Status)) == 1;

    public void SetGroupMessageStatus(long id, GroupMessageStatus status, DateTimeOffset? at = null) =>
        ExecuteOne(
            "UPDATE group_messages SET status = $status, at = coalesce($at, at) WHERE id = $id",
            ("$id", id),
            ("$status", (long)status),
            ("$at", at?.ToUnixTimeMilliseconds()));

    public void DeleteGroupMessage(long id) => ExecuteOne("DELETE FROM group_messages WHERE id = $id", ("$id", id));

    /// <summary>Queues an encoded group command for one member, until a relationship with them can carry it.</summary>
    public void AddGroupOutbox(GroupId group, PublicIdentity recipient, byte[] body, DateTimeOffset now) =>
        Execute(
            "INSERT INTO group_outbox (group_id, recipient, body, created_at) VALUES ($group, $recipient, $body, $now)",
            ("$group", group.ToArray()),
            ("$recipient", recipient.Bytes.ToArray()),
            ("$body", body),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void RemoveGroupOutbox(long id) => Execute("DELETE FROM group_outbox WHERE id = $id", ("$id", id));

    public void SetGroupIntroduction(GroupIntroductionRecord introduction) =>
        Execute(
            """
            INSERT INTO group_introductions (identity, direction, group_id, name, invitation, at) VALUES ($identity, $direction, $group, $name, $invitation, $at)
            ON CONFLICT (identity, direction) DO UPDATE SET group_id = $group, name = $name, invitation = $invitation, at = $at
            """,
            ("$identity", introduction.Identity.Bytes.ToArray()),
            ("$direction", (long)introduction.Direction),
            ("$group", introduction.Group.ToArray()),
            ("$name", introduction.Name),
            ("$invitation", introduction.Invitation),
            ("$at", introduction.At.ToUnixTimeMilliseconds()));

    public void RemoveGroupIntroduction(PublicIdentity identity, GroupIntroductionDirection direction) =>
        Execute(
            "DELETE FROM group_introductions WHERE identity = $identity AND direction = $direction",
            ("$identity", identity.Bytes.ToArray()),
            ("$direction", (long)direction));
}
