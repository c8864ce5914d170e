namespace EdgeRelay.RelationshipManager.State;

// Reads for several services: our addresses per relationship and per service.
internal sealed partial class RmDatabase
{
    /// <summary>
    /// Our addresses a relationship receives on, the announced ones first in service order, then the replaced
    /// ones still collected until they expire.
    /// </summary>
    public IReadOnlyList<OurCardRecord> GetOurCards(long relationshipId) =>
        Query(
            $"""
            SELECT c.relationship_id, c.added_at, c.replaced_at, {PrefixedAddressColumns}
            FROM our_cards c JOIN addresses a ON a.aid = c.aid JOIN services s ON s.id = a.service_id
            WHERE c.relationship_id = $id
            ORDER BY c.replaced_at IS NOT NULL, s.position, s.id, a.created_at
            """,
            ReadOurCard,
            ("$id", relationshipId));

    /// <summary>Every relationship's address rows on one service, to see what a sunset still waits for.</summary>
    public IReadOnlyList<OwnAddressRecord> GetAddressesOn(long serviceId) =>
        Query($"SELECT {AddressColumns} FROM addresses WHERE service_id = $id ORDER BY created_at", ReadAddress, ("$id", serviceId));

    /// <summary>Whether a sending service holds an envelope of ours not yet reported stored: without reading the envelopes.</summary>
    public bool HasHandedOff() =>
        Query("SELECT 1 FROM outbox WHERE handed_to IS NOT NULL LIMIT 1", r => r.GetInt32(0)).Count > 0;

    private const string PrefixedAddressColumns = "a.aid, a.card, a.service_id, a.owner_key, a.expires_at, a.state";

    private static OurCardRecord ReadOurCard(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(
            r.GetInt64(0),
            new OwnAddressRecord(Columns.Aid(r, 3), Columns.Blob(r, 4), r.GetInt64(5), Columns.Blob(r, 6), Columns.Time(r, 7), (OwnAddressState)r.GetInt64(8)),
            Columns.Time(r, 1),
            r.IsDBNull(2) ? null : Columns.Time(r, 2));
}
