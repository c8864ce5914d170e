namespace EdgeRelay.RelationshipManager.State;

// Writes for several services: the service list and our addresses per relationship.
internal sealed partial class RmWriter
{
    public long AddService(string endpoint, byte[]? pin, ServiceRoles roles, byte[]? sealedToken, DateTimeOffset now, byte sendingMode = 1) =>
        (long)Scalar(
            """
            INSERT INTO services (endpoint, pin, roles, token, added_at, position, sending_mode)
            VALUES ($endpoint, $pin, $roles, $token, $now, (SELECT COALESCE(MAX(position), 0) + 1 FROM services), $mode) RETURNING id
            """,
            ("$endpoint", endpoint),
            ("$pin", pin),
            ("$roles", (long)roles),
            ("$token", sealedToken),
            ("$mode", (long)sendingMode),
            ("$now", now.ToUnixTimeMilliseconds()))!;

    public void UpdateService(long id, byte[]? pin, ServiceRoles roles, byte[]? sealedToken, byte sendingMode) =>
        ExecuteOne(
            "UPDATE services SET pin = $pin, roles = $roles, token = $token, sending_mode = $mode WHERE id = $id",
            ("$id", id),
            ("$pin", pin),
            ("$roles", (long)roles),
            ("$token", sealedToken),
            ("$mode", (long)sendingMode));

    public void SetServiceSunset(long id, DateTimeOffset at) =>
        ExecuteOne("UPDATE services SET sunset_at = $at WHERE id = $id", ("$id", id), ("$at", at.ToUnixTimeMilliseconds()));

    /// <summary>
    /// Stops using a service: its addresses are no longer collected nor announced. The row stays, marked, because
    /// the addresses (and through them relationships and invitations) still name it.
    /// </summary>
    public void RemoveService(long id, DateTimeOffset now)
    {
        Execute("UPDATE our_cards SET replaced_at = $now WHERE replaced_at IS NULL AND aid IN (SELECT aid FROM addresses WHERE service_id = $id)", ("$id", id), ("$now", now.ToUnixTimeMilliseconds()));
        Execute("UPDATE addresses SET state = $revoked WHERE service_id = $id", ("$id", id), ("$revoked", (long)OwnAddressState.Revoked));
        ExecuteOne("UPDATE services SET removed_at = $now WHERE id = $id", ("$id", id), ("$now", now.ToUnixTimeMilliseconds()));
    }

    /// <summary>A removed service added again: a new service in all but its row, last in order.</summary>
    public void RestoreService(long id) =>
        ExecuteOne(
            "UPDATE services SET removed_at = NULL, sunset_at = NULL, position = (SELECT MAX(position) + 1 FROM services) WHERE id = $id",
            ("$id", id));

    /// <summary>A sending service queued the envelope: kept, as handed to it, until it reports how it went.</summary>
    public void MarkHandedOff(long outboxId, long serviceId, long sendId, int cardIndex, DateTimeOffset now) =>
        Execute(
            "UPDATE outbox SET handed_to = $service, send_id = $send, handed_at = $now, card_index = $card WHERE id = $id",
            ("$id", outboxId),
            ("$service", serviceId),
            ("$send", sendId),
            ("$now", now.ToUnixTimeMilliseconds()),
            ("$card", (long)cardIndex));

    /// <summary>To be sent again, to the contact's card <paramref name="cardIndex"/>: the service holding it failed or kept it waiting.</summary>
    public void ReleaseHandoff(long outboxId, int cardIndex) =>
        Execute("UPDATE outbox SET handed_to = NULL, send_id = NULL, handed_at = NULL, card_index = $card WHERE id = $id", ("$id", outboxId), ("$card", (long)cardIndex));

    public void AddOurCard(long relationshipId, AddressId aid, DateTimeOffset now) =>
        Execute(
            "INSERT INTO our_cards (relationship_id, aid, added_at) VALUES ($id, $aid, $now) ON CONFLICT DO NOTHING",
            ("$id", relationshipId),
            ("$aid", Columns.Aid(aid)),
            ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Stops announcing one of our addresses to a relationship; it is still collected until it expires.</summary>
    public void ReplaceOurCard(long relationshipId, AddressId aid, DateTimeOffset now) =>
        ExecuteOne(
            "UPDATE our_cards SET replaced_at = $now WHERE relationship_id = $id AND aid = $aid AND replaced_at IS NULL",
            ("$id", relationshipId),
            ("$aid", Columns.Aid(aid)),
            ("$now", now.ToUnixTimeMilliseconds()));
}
