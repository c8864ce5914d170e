using EdgeRelay.RelationshipManager.Identity;
using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager.State;

/// <summary>
/// One transaction on the state database. Nothing is visible to readers, nor survives a crash, until
/// <see cref="Commit"/>; disposing without committing rolls everything back.
/// </summary>
internal sealed partial class RmWriter : IDisposable
{
    private readonly RmDatabase _database;
    private readonly SqliteTransaction _transaction;

    public RmWriter(RmDatabase database, SqliteTransaction transaction)
    {
        _database = database;
        _transaction = transaction;
    }

    public void Commit()
    {
        _transaction.Commit();
        _database.EndWrite(_transaction);
    }

    public void Dispose()
    {
        _database.EndWrite(_transaction);
        _transaction.Dispose();
    }

    public void SetProfile(string name, PublicIdentity identity, DateTimeOffset now) =>
        Execute(
            "INSERT INTO profile (id, name, identity, created_at) VALUES (1, $name, $identity, $now) ON CONFLICT (id) DO UPDATE SET name = $name",
            ("$name", name),
            ("$identity", identity.Bytes.ToArray()),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void AddAddress(OwnAddressRecord address, DateTimeOffset now) =>
        Execute(
            "INSERT INTO addresses (aid, card, service_id, owner_key, expires_at, created_at, state) VALUES ($aid, $card, $service, $key, $expires, $now, $state)",
            ("$aid", Columns.Aid(address.Aid)),
            ("$card", address.Card),
            ("$service", address.ServiceId),
            ("$key", address.SealedOwnerKey),
            ("$expires", address.ExpiresAt.ToUnixTimeMilliseconds()),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$state", (long)address.State));

    public void SetAddressState(AddressId aid, OwnAddressState state) =>
        ExecuteOne("UPDATE addresses SET state = $state WHERE aid = $aid", ("$aid", Columns.Aid(aid)), ("$state", (long)state));

    public void RenewAddress(AddressId aid, byte[] card, DateTimeOffset expiresAt) =>
        ExecuteOne(
            "UPDATE addresses SET card = $card, expires_at = $expires WHERE aid = $aid",
            ("$aid", Columns.Aid(aid)),
            ("$card", card),
            ("$expires", expiresAt.ToUnixTimeMilliseconds()));

    public void AddInvitation(InvitationRecord invitation) =>
        Execute(
            "INSERT INTO invitations (id, aid, secrets, created_at, expires_at) VALUES ($id, $aid, $secrets, $created, $expires)",
            ("$id", invitation.Id),
            ("$aid", Columns.Aid(invitation.Aid)),
            ("$secrets", invitation.SealedSecrets),
            ("$created", invitation.CreatedAt.ToUnixTimeMilliseconds()),
            ("$expires", invitation.ExpiresAt.ToUnixTimeMilliseconds()));

    /// <summary>Binds an invitation to the relationship it created. False if it was already used: an invitation is one-time.</summary>
    public bool MarkInvitationUsed(byte[] invitationId, long relationshipId) =>
        Execute("UPDATE invitations SET relationship_id = $relationship WHERE id = $id AND relationship_id IS NULL", ("$id", invitationId), ("$relationship", relationshipId)) == 1;

    public long AddRelationship(RelationshipRecord relationship, DateTimeOffset now)
    {
        var id = (long)Scalar(
            """
            INSERT INTO relationships (name, identity, verified, state, our_aid, ratchet, policy, read_receipts, created_at, updated_at)
            VALUES ($name, $identity, $verified, $state, $aid, $ratchet, $policy, $receipts, $now, $now) RETURNING id
            """,
            ("$name", relationship.Name),
            ("$identity", relationship.Identity.Bytes.ToArray()),
            ("$verified", relationship.Verified ? 1L : 0L),
            ("$state", (long)relationship.State),
            ("$aid", Columns.Aid(relationship.OurAddress)),
            ("$ratchet", relationship.SealedRatchet),
            ("$policy", Columns.Policy(relationship.Policy)),
            ("$receipts", relationship.ReadReceipts ? 1L : 0L),
            ("$now", now.ToUnixTimeMilliseconds()))!;
        AddOurCard(id, relationship.OurAddress, now); // the address it begins on is its first card
        return id;
    }

    /// <summary>
    /// Writes what the user and the commands change (name, verified, state, policy, read receipts), never the
    /// ratchet: that column is written only by <see cref="SetRatchet"/>, with the state read in the same
    /// transaction, so an operation that read the row earlier cannot put an old ratchet back.
    /// </summary>
    public void UpdateRelationship(RelationshipRecord relationship, DateTimeOffset now) =>
        ExecuteOne(
            """
            UPDATE relationships SET name = $name, verified = $verified, state = $state, policy = $policy,
                read_receipts = $receipts, updated_at = $now WHERE id = $id
            """,
            ("$id", relationship.Id),
            ("$name", relationship.Name),
            ("$verified", relationship.Verified ? 1L : 0L),
            ("$state", (long)relationship.State),
            ("$policy", Columns.Policy(relationship.Policy)),
            ("$receipts", relationship.ReadReceipts ? 1L : 0L),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void SetRatchet(long relationshipId, byte[] sealedRatchet) =>
        ExecuteOne("UPDATE relationships SET ratchet = $ratchet WHERE id = $id", ("$id", relationshipId), ("$ratchet", sealedRatchet));

    /// <summary>Records (or, with null, clears) that the contact asked us to refresh our card: answered after the commit, retried until done.</summary>
    public void SetRefreshAsked(long relationshipId, DateTimeOffset? at) =>
        ExecuteOne(
            "UPDATE relationships SET refresh_asked_at = $at WHERE id = $id",
            ("$id", relationshipId),
            ("$at", at?.ToUnixTimeMilliseconds()));

    /// <summary>Replaces the cards they gave us, in their order of preference.</summary>
    public void SetTheirCards(long relationshipId, IReadOnlyList<TheirCardRecord> cards)
    {
        Execute("DELETE FROM their_cards WHERE relationship_id = $id", ("$id", relationshipId));
        foreach (var card in cards)
        {
            Execute(
                "INSERT INTO their_cards (relationship_id, position, aid, card, expires_at) VALUES ($id, $position, $aid, $card, $expires)",
                ("$id", relationshipId),
                ("$position", (long)card.Position),
                ("$aid", Columns.Aid(card.Aid)),
                ("$card", card.Card),
                ("$expires", card.ExpiresAt.ToUnixTimeMilliseconds()));
        }
    }

    public void MarkRefreshRequested(long relationshipId, AddressId aid, DateTimeOffset now) =>
        ExecuteOne(
            "UPDATE their_cards SET refresh_requested_at = $now WHERE relationship_id = $id AND aid = $aid",
            ("$id", relationshipId),
            ("$aid", Columns.Aid(aid)),
            ("$now", now.ToUnixTimeMilliseconds()));

    public void SetProfileName(string name) => ExecuteOne("UPDATE profile SET name = $name WHERE id = 1", ("$name", name));

    /// <summary>Records a command id as received. False if it was already: a duplicate to drop.</summary>
    public bool MarkSeen(long relationshipId, byte[] commandId, DateTimeOffset now) =>
        Execute(
            "INSERT INTO seen (relationship_id, command_id, at) VALUES ($id, $command, $now) ON CONFLICT DO NOTHING",
            ("$id", relationshipId),
            ("$command", commandId),
            ("$now", now.ToUnixTimeMilliseconds())) == 1;

    public long AddMessage(MessageRecord message) =>
        (long)Scalar(
            """
            INSERT INTO messages (relationship_id, command_id, direction, text, sent_at, at, status)
            VALUES ($relationship, $command, $direction, $text, $sent, $at, $status) RETURNING id
            """,
            ("$relationship", message.RelationshipId),
            ("$command", message.CommandId),
            ("$direction", (long)message.Direction),
            ("$text", message.Text),
            ("$sent", message.SentAt.ToUnixTimeMilliseconds()),
            ("$at", message.At.ToUnixTimeMilliseconds()),
            ("$status", (long)message.Status))!;

    /// <summary>Raises an outgoing message's status (a receipt never lowers it: "read" stays read when a late "received" arrives).</summary>
    public bool RaiseOutgoingStatus(long relationshipId, byte[] commandId, int status) =>
        Execute(
            "UPDATE messages SET status = $status WHERE relationship_id = $relationship AND direction = 1 AND command_id = $command AND status < $status",
            ("$relationship", relationshipId),
            ("$command", commandId),
            ("$status", (long)status)) == 1;

    /// <summary>Marks a new incoming message as being shown; one already being shown, or shown, is left as it is.</summary>
    public void BeginShowing(long relationshipId, byte[] commandId) =>
        Execute(
            "UPDATE messages SET status = $showing WHERE relationship_id = $relationship AND direction = 0 AND command_id = $command AND status = $new",
            ("$relationship", relationshipId),
            ("$command", commandId),
            ("$showing", (long)IncomingStatus.Showing),
            ("$new", (long)IncomingStatus.New));

    public void SetIncomingStatus(long messageId, int status) =>
        ExecuteOne("UPDATE messages SET status = $status WHERE id = $id AND direction = 0", ("$id", messageId), ("$status", (long)status));

    public long AddOutbox(long relationshipId, byte[] envelope, byte[] card, byte[] commandId, DateTimeOffset now) =>
        (long)Scalar(
            "INSERT INTO outbox (relationship_id, envelope, card, command_id, created_at, attempts) VALUES ($relationship, $envelope, $card, $command, $now, 0) RETURNING id",
            ("$relationship", relationshipId),
            ("$envelope", envelope),
            ("$card", card),
            ("$command", commandId),
            ("$now", now.ToUnixTimeMilliseconds()))!;

    // Not ExecuteOne: another process sharing the home may have sent (and removed) the same envelope meanwhile;
    // both sending it is harmless, the recipient drops the second as a replay.
    public void RemoveOutbox(long id) => Execute("DELETE FROM outbox WHERE id = $id", ("$id", id));

    public void RecordOutboxFailure(long id, string error) =>
        Execute("UPDATE outbox SET attempts = attempts + 1, last_error = $error WHERE id = $id", ("$id", id), ("$error", error));

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Prepare(sql, parameters);
        return command.ExecuteNonQuery();
    }

    // An update that must hit exactly one row: anything else means the caller's view of the state is wrong.
    private void ExecuteOne(string sql, params (string Name, object? Value)[] parameters)
    {
        if (Execute(sql, parameters) != 1)
        {
            throw new StateException(StateError.Corrupt, "A row the relationship manager expected is missing.");
        }
    }

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Prepare(sql, parameters);
        return command.ExecuteScalar();
    }

    private SqliteCommand Prepare(string sql, (string Name, object? Value)[] parameters)
    {
        var command = _database.Command(sql, _transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
