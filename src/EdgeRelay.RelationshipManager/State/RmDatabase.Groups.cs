using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager.State;

internal sealed partial class RmDatabase
{
    private const string GroupMessageColumns = "id, group_id, sender, sender_name, message_id, direction, text, epoch, sent_at, at, status";

    public IReadOnlyList<GroupRecord> GetGroups() =>
        [.. Query("SELECT id FROM groups ORDER BY created_at, id", r => GroupId.Read(Columns.Blob(r, 0))).Select(id => GetGroup(id)!)];

    public GroupRecord? GetGroup(GroupId id)
    {
        var key = id.ToArray();
        var rows = Query(
            "SELECT name, epoch, standing FROM groups WHERE id = $id",
            r => (Name: r.GetString(0), Epoch: unchecked((ulong)r.GetInt64(1)), Standing: (GroupStanding)r.GetInt64(2)),
            ("$id", key));
        if (rows.Count == 0)
        {
            return null;
        }

        var members = Query(
            "SELECT identity, name FROM group_members WHERE group_id = $id ORDER BY position",
            r => new GroupMemberEntry(Columns.Identity(r, 0), r.GetString(1)),
            ("$id", key));
        return new GroupRecord(id, rows[0].Name, rows[0].Epoch, rows[0].Standing, members);
    }

    public IReadOnlyList<GroupMessageRecord> GetGroupMessages(GroupId group, int limit) =>
        Query(
            $"SELECT {GroupMessageColumns} FROM (SELECT * FROM group_messages WHERE group_id = $group AND status != 2 ORDER BY id DESC LIMIT $limit) ORDER BY id",
            ReadGroupMessage,
            ("$group", group.ToArray()),
            ("$limit", (long)limit));

    public IReadOnlyList<GroupMessageRecord> GetGroupMessages(GroupMessageStatus status, GroupId? group = null) =>
        group is { } g
            ? Query($"SELECT {GroupMessageColumns} FROM group_messages WHERE direction = 0 AND status = $status AND group_id = $group ORDER BY id", ReadGroupMessage, ("$status", (long)status), ("$group", g.ToArray()))
            : Query($"SELECT {GroupMessageColumns} FROM group_messages WHERE direction = 0 AND status = $status ORDER BY id", ReadGroupMessage, ("$status", (long)status));

    public GroupMessageRecord? GetGroupMessage(long id) =>
        Single($"SELECT {GroupMessageColumns} FROM group_messages WHERE id = $id", ReadGroupMessage, ("$id", id));

    public IReadOnlyList<GroupOutboxRecord> GetGroupOutbox() =>
        Query("SELECT id, group_id, recipient, body FROM group_outbox ORDER BY id", ReadGroupOutbox);

    public GroupOutboxRecord? GetGroupOutboxEntry(long id) =>
        Single("SELECT id, group_id, recipient, body FROM group_outbox WHERE id = $id", ReadGroupOutbox, ("$id", id));

    public IReadOnlyList<GroupIntroductionRecord> GetGroupIntroductions(GroupIntroductionDirection direction) =>
        Query(
            "SELECT identity, direction, group_id, name, invitation, at FROM group_introductions WHERE direction = $direction ORDER BY at",
            r => new GroupIntroductionRecord(Columns.Identity(r, 0), (GroupIntroductionDirection)r.GetInt64(1), GroupId.Read(Columns.Blob(r, 2)), r.GetString(3), Columns.NullableBlob(r, 4), Columns.Time(r, 5)),
            ("$direction", (long)direction));

    /// <summary>The one working relationship (awaiting reply, established, or held by a key change) with this identity, if any.</summary>
    public RelationshipRecord? GetWorkingRelationship(PublicIdentity identity) =>
        Single($"SELECT {RelationshipColumns} FROM relationships WHERE identity = $identity AND state IN (0, 1, 4)", ReadRelationship, ("$identity", identity.Bytes.ToArray()));

    private static GroupOutboxRecord ReadGroupOutbox(SqliteDataReader r) =>
        new(r.GetInt64(0), GroupId.Read(Columns.Blob(r, 1)), Columns.Identity(r, 2), Columns.Blob(r, 3));

    private static GroupMessageRecord ReadGroupMessage(SqliteDataReader r) =>
        new(
            r.GetInt64(0),
            GroupId.Read(Columns.Blob(r, 1)),
            Columns.Identity(r, 2),
            r.GetString(3),
            Columns.Blob(r, 4),
            (MessageDirection)r.GetInt64(5),
            r.GetString(6),
            unchecked((ulong)r.GetInt64(7)),
            Columns.Time(r, 8),
            Columns.Time(r, 9),
            (GroupMessageStatus)r.GetInt64(10));
}
