using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

// Reads of backups, merges and successors (docs/RM-PROTOCOL.md §9).
internal sealed partial class RmDatabase
{
    public bool IsSuccessorInvitation(byte[] invitationId) =>
        Query("SELECT 1 FROM successor_invitations WHERE id = $id", r => r.GetInt64(0), ("$id", invitationId)).Count > 0;

    /// <summary>The successor invitation a relationship was created by, if it was.</summary>
    public byte[]? GetContinuedBy(long relationshipId) =>
        Single("SELECT invitation_id FROM continued_relationships WHERE relationship_id = $id", r => Columns.Blob(r, 0), ("$id", relationshipId));

    public ProposedSuccessorRecord? GetProposedSuccessor(long relationshipId) =>
        Single(
            "SELECT relationship_id, invitation, at FROM proposed_successors WHERE relationship_id = $id",
            r => new ProposedSuccessorRecord(r.GetInt64(0), Columns.Blob(r, 1), Columns.Time(r, 2)),
            ("$id", relationshipId));

    public IReadOnlyList<PublicIdentity> GetPreviousIdentities(long relationshipId) =>
        Query("SELECT identity FROM previous_identities WHERE relationship_id = $id ORDER BY until", r => Columns.Identity(r, 0), ("$id", relationshipId));

    public PublicIdentity? GetBackup(long relationshipId) =>
        Single("SELECT identity FROM backups WHERE relationship_id = $id", r => Columns.Identity(r, 0), ("$id", relationshipId));

    public IReadOnlyList<MergeRequestRecord> GetMergeRequests() =>
        Query(
            "SELECT relationship_id, keep, other, at FROM merge_requests ORDER BY at",
            r => new MergeRequestRecord(r.GetInt64(0), r.GetInt64(1) != 0, Columns.Identity(r, 2), Columns.Time(r, 3)));

    /// <summary>Our outgoing messages in a relationship that their RM never confirmed (queued or only sent), oldest first.</summary>
    public IReadOnlyList<MessageRecord> GetUnconfirmedOutgoing(long relationshipId) =>
        Query(
            "SELECT id, relationship_id, command_id, direction, text, sent_at, at, status FROM messages WHERE relationship_id = $id AND direction = 1 AND status < 2 ORDER BY id",
            ReadMessage,
            ("$id", relationshipId));

    /// <summary>The relationship that took over <paramref name="identity"/> in a merge or succession, latest first.</summary>
    public long? GetSuccessorOf(PublicIdentity identity) =>
        Query(
            "SELECT relationship_id FROM previous_identities WHERE identity = $identity ORDER BY until DESC LIMIT 1",
            r => r.GetInt64(0),
            ("$identity", identity.Bytes.ToArray())) is [var id] ? id : null;
}
