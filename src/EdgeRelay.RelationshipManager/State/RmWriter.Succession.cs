using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

// Writes of backups, merges and successors (docs/RM-PROTOCOL.md §9).
internal sealed partial class RmWriter
{
    public void AddSuccessorInvitation(byte[] invitationId) =>
        Execute("INSERT INTO successor_invitations (id) VALUES ($id)", ("$id", invitationId));

    public void AddContinuedRelationship(long relationshipId, byte[] invitationId) =>
        Execute(
            "INSERT INTO continued_relationships (relationship_id, invitation_id) VALUES ($id, $invitation)",
            ("$id", relationshipId),
            ("$invitation", invitationId));

    /// <summary>Records (replacing any earlier one) a successor awaiting the user's decision.</summary>
    public void ProposeSuccessor(long relationshipId, byte[] invitation, DateTimeOffset now) =>
        Execute(
            "INSERT INTO proposed_successors (relationship_id, invitation, at) VALUES ($id, $invitation, $now) ON CONFLICT (relationship_id) DO UPDATE SET invitation = $invitation, at = $now",
            ("$id", relationshipId),
            ("$invitation", invitation),
            ("$now", now.ToUnixTimeMilliseconds()));

    public bool RemoveProposedSuccessor(long relationshipId) =>
        Execute("DELETE FROM proposed_successors WHERE relationship_id = $id", ("$id", relationshipId)) == 1;

    public void AddPreviousIdentity(long relationshipId, PublicIdentity identity, DateTimeOffset now) =>
        Execute(
            "INSERT INTO previous_identities (relationship_id, identity, until) VALUES ($id, $identity, $now) ON CONFLICT DO UPDATE SET until = $now",
            ("$id", relationshipId),
            ("$identity", identity.Bytes.ToArray()),
            ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>
    /// The relationship continues with another identity: its keys, ratchet and standing change, the row (and so its
    /// messages) stays. Only the succession does this; every other write keeps the identity.
    /// </summary>
    public void ReplaceIdentity(long relationshipId, PublicIdentity identity, byte[] sealedRatchet, RelationshipState state, DateTimeOffset now) =>
        ExecuteOne(
            "UPDATE relationships SET identity = $identity, ratchet = $ratchet, state = $state, refresh_asked_at = NULL, updated_at = $now WHERE id = $id",
            ("$id", relationshipId),
            ("$identity", identity.Bytes.ToArray()),
            ("$ratchet", sealedRatchet),
            ("$state", (long)state),
            ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Drops the envelopes still queued for a relationship: sealed to an identity it no longer has.</summary>
    public void DropOutbox(long relationshipId) =>
        Execute("DELETE FROM outbox WHERE relationship_id = $id", ("$id", relationshipId));

    /// <summary>A message sent again under a new command id (to a successor): the user keeps one message, whose receipts now name the new id.</summary>
    public void ResendMessage(long messageId, byte[] commandId) =>
        ExecuteOne(
            "UPDATE messages SET command_id = $command, status = 0 WHERE id = $id AND direction = 1",
            ("$id", messageId),
            ("$command", commandId));

    public void SetBackup(long relationshipId, PublicIdentity backup, DateTimeOffset now) =>
        Execute(
            "INSERT INTO backups (relationship_id, identity, at) VALUES ($id, $identity, $now) ON CONFLICT (relationship_id) DO UPDATE SET identity = $identity, at = $now",
            ("$id", relationshipId),
            ("$identity", backup.Bytes.ToArray()),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void AddMergeRequest(long relationshipId, bool keep, PublicIdentity other, DateTimeOffset now) =>
        Execute(
            "INSERT INTO merge_requests (relationship_id, keep, other, at) VALUES ($id, $keep, $other, $now) ON CONFLICT (relationship_id, keep) DO UPDATE SET other = $other, at = $now",
            ("$id", relationshipId),
            ("$keep", keep ? 1L : 0L),
            ("$other", other.Bytes.ToArray()),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void RemoveMergeRequests(long relationshipId) =>
        Execute("DELETE FROM merge_requests WHERE relationship_id = $id", ("$id", relationshipId));

    /// <summary>Moves every message and seen command id of one relationship to another: one conversation, in arrival order.</summary>
    public void MoveConversation(long from, long to)
    {
        Execute("UPDATE OR IGNORE messages SET relationship_id = $to WHERE relationship_id = $from", ("$from", from), ("$to", to));
        Execute("UPDATE OR IGNORE seen SET relationship_id = $to WHERE relationship_id = $from", ("$from", from), ("$to", to));
    }
}
