using EdgeRelay.RelationshipManager.Identity;
using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager.State;

internal sealed partial class RmDatabase
{
    private const string RelationshipColumns = "id, name, identity, verified, state, our_aid, ratchet, policy, read_receipts, created_at";

    private const string ServiceColumns = "id, endpoint, pin, roles, token, position, sending_mode, sunset_at, removed_at";

    private const string AddressColumns = "aid, card, service_id, owner_key, expires_at, state";

    public (string Name, PublicIdentity Identity)? GetProfile()
    {
        // Not Single: a missing row must come back as null, not as a default tuple.
        var rows = Query("SELECT name, identity FROM profile WHERE id = 1", r => (r.GetString(0), Columns.Identity(r, 1)));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Our services in their order, removed ones left out.</summary>
    public IReadOnlyList<ServiceRecord> GetServices() =>
        Query($"SELECT {ServiceColumns} FROM services WHERE removed_at IS NULL ORDER BY position, id", ReadService);

    public ServiceRecord? GetService(long id) =>
        Single($"SELECT {ServiceColumns} FROM services WHERE id = $id", ReadService, ("$id", id));

    public ServiceRecord? GetService(string endpoint) =>
        Single($"SELECT {ServiceColumns} FROM services WHERE endpoint = $endpoint", ReadService, ("$endpoint", endpoint));

    public IReadOnlyList<OwnAddressRecord> GetAddresses(OwnAddressState? state = null) =>
        state is { } s
            ? Query($"SELECT {AddressColumns} FROM addresses WHERE state = $state ORDER BY created_at", ReadAddress, ("$state", (long)s))
            : Query($"SELECT {AddressColumns} FROM addresses ORDER BY created_at", ReadAddress);

    public OwnAddressRecord? GetAddress(AddressId aid) =>
        Single($"SELECT {AddressColumns} FROM addresses WHERE aid = $aid", ReadAddress, ("$aid", Columns.Aid(aid)));

    public InvitationRecord? GetInvitation(byte[] id) =>
        Single(
            "SELECT id, aid, secrets, created_at, expires_at, relationship_id FROM invitations WHERE id = $id",
            r => new InvitationRecord(Columns.Blob(r, 0), Columns.Aid(r, 1), Columns.Blob(r, 2), Columns.Time(r, 3), Columns.Time(r, 4), r.IsDBNull(5) ? null : r.GetInt64(5)),
            ("$id", id));

    public IReadOnlyList<RelationshipRecord> GetRelationships() =>
        Query($"SELECT {RelationshipColumns} FROM relationships ORDER BY id", ReadRelationship);

    public RelationshipRecord? GetRelationship(long id) =>
        Single($"SELECT {RelationshipColumns} FROM relationships WHERE id = $id", ReadRelationship, ("$id", id));

    public IReadOnlyList<RelationshipRecord> GetRelationshipsAt(AddressId ourAddress) =>
        Query(
            $"SELECT {RelationshipColumns} FROM relationships WHERE id IN (SELECT relationship_id FROM our_cards WHERE aid = $aid) ORDER BY id",
            ReadRelationship,
            ("$aid", Columns.Aid(ourAddress)));

    public IReadOnlyList<long> GetRelationshipsAskingRefresh() =>
        Query("SELECT id FROM relationships WHERE refresh_asked_at IS NOT NULL ORDER BY id", r => r.GetInt64(0));

    public IReadOnlyList<TheirCardRecord> GetTheirCards(long relationshipId) =>
        Query(
            "SELECT position, aid, card, expires_at, refresh_requested_at FROM their_cards WHERE relationship_id = $id ORDER BY position",
            r => new TheirCardRecord(r.GetInt32(0), Columns.Aid(r, 1), Columns.Blob(r, 2), Columns.Time(r, 3), r.IsDBNull(4) ? null : Columns.Time(r, 4)),
            ("$id", relationshipId));

    public IReadOnlyList<MessageRecord> GetMessages(long relationshipId, int limit) =>
        Query(
            "SELECT id, relationship_id, command_id, direction, text, sent_at, at, status FROM (SELECT * FROM messages WHERE relationship_id = $id ORDER BY id DESC LIMIT $limit) ORDER BY id",
            ReadMessage,
            ("$id", relationshipId),
            ("$limit", (long)limit));

    public MessageRecord? GetMessage(long id) =>
        Single("SELECT id, relationship_id, command_id, direction, text, sent_at, at, status FROM messages WHERE id = $id", ReadMessage, ("$id", id));

    /// <summary>Incoming messages not yet marked shown (new, or being shown), oldest first, across relationships.</summary>
    public IReadOnlyList<MessageRecord> GetUnshownMessages() =>
        Query(
            "SELECT id, relationship_id, command_id, direction, text, sent_at, at, status FROM messages WHERE direction = 0 AND status IN (0, 2) ORDER BY id",
            ReadMessage);

    public IReadOnlyList<OutboxRecord> GetOutbox() =>
        Query(
            "SELECT id, relationship_id, envelope, card, command_id, created_at, attempts, handed_to, send_id, handed_at, card_index FROM outbox ORDER BY id",
            r => new OutboxRecord(
                r.GetInt64(0),
                r.GetInt64(1),
                Columns.Blob(r, 2),
                Columns.Blob(r, 3),
                Columns.Blob(r, 4),
                Columns.Time(r, 5),
                r.GetInt32(6),
                r.IsDBNull(7) ? null : r.GetInt64(7),
                r.IsDBNull(8) ? 0 : r.GetInt64(8),
                r.IsDBNull(9) ? null : Columns.Time(r, 9),
                r.GetInt32(10)));

    private static ServiceRecord ReadService(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), Columns.NullableBlob(r, 2), (ServiceRoles)r.GetInt64(3), Columns.NullableBlob(r, 4), r.GetInt64(5), (byte)r.GetInt64(6), r.IsDBNull(7) ? null : Columns.Time(r, 7), r.IsDBNull(8) ? null : Columns.Time(r, 8));

    private static OwnAddressRecord ReadAddress(SqliteDataReader r) =>
        new(Columns.Aid(r, 0), Columns.Blob(r, 1), r.GetInt64(2), Columns.Blob(r, 3), Columns.Time(r, 4), (OwnAddressState)r.GetInt64(5));

    private static RelationshipRecord ReadRelationship(SqliteDataReader r) =>
        new(
            r.GetInt64(0),
            r.GetString(1),
            Columns.Identity(r, 2),
            r.GetInt64(3) != 0,
            (RelationshipState)r.GetInt64(4),
            Columns.Aid(r, 5),
            Columns.Blob(r, 6),
            Columns.Policy(r.GetInt64(7)),
            r.GetInt64(8) != 0,
            Columns.Time(r, 9));

    private static MessageRecord ReadMessage(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetInt64(1), Columns.Blob(r, 2), (MessageDirection)r.GetInt64(3), r.GetString(4), Columns.Time(r, 5), Columns.Time(r, 6), r.GetInt32(7));

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object Value)[] parameters)
    {
        using var command = Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private T? Single<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object Value)[] parameters)
        where T : class
    {
        var rows = Query(sql, read, parameters);
        return rows.Count == 0 ? default : rows[0];
    }
}
