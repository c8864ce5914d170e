using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager.Tests.State;

public sealed class RmDatabaseTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly TempDirectory _directory = new("edgerelay-rm-state");

    private string Path => _directory.Combine("state.db");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void A_new_database_is_migrated_to_the_latest_schema()
    {
        using var database = RmDatabase.Open(Path);

        Assert.Equal(Schema.LatestVersion, database.Version);
    }

    [Fact]
    public void A_database_from_a_newer_library_is_refused_untouched()
    {
        using (var database = RmDatabase.Open(Path, [.. Schema.Migrations, "CREATE TABLE later (x INTEGER);"]))
        {
            Assert.Equal(Schema.LatestVersion + 1, database.Version);
        }

        var error = Assert.Throws<StateException>(() => RmDatabase.Open(Path));

        Assert.Equal(StateError.NewerSchema, error.Error);
    }

    [Fact]
    public void An_upgrade_keeps_the_rows_of_the_version_before()
    {
        long id;
        using (var database = RmDatabase.Open(Path))
        {
            id = AddRelationship(database, "alice");
        }

        using (var upgraded = RmDatabase.Open(Path, [.. Schema.Migrations, "ALTER TABLE relationships ADD COLUMN note TEXT;"]))
        {
            Assert.Equal(Schema.LatestVersion + 1, upgraded.Version);
            Assert.Equal("alice", upgraded.GetRelationship(id)!.Name);
        }
    }

    [Fact]
    public void Version_1_databases_are_upgraded_to_the_latest_with_their_cards_kept()
    {
        // Rows as version 1 wrote them, in its own SQL: today's writer knows tables version 1 did not have.
        var aid = AddressId.NewRandom();
        var theirs = AddressId.NewRandom();
        using (var version1 = RmDatabase.Open(Path, [.. Schema.Migrations.Take(1)]))
        {
            Assert.Equal(1, version1.Version);
            foreach (var sql in new[]
            {
                "INSERT INTO services (id, endpoint, roles, added_at) VALUES (7, '127.0.0.1:7400', 3, 0)",
                $"INSERT INTO addresses (aid, card, service_id, owner_key, expires_at, created_at, state) VALUES (x'{Convert.ToHexString(Columns.Aid(aid))}', x'01', 7, x'01', 0, 0, 2)",
                $"INSERT INTO relationships (id, name, identity, verified, state, our_aid, ratchet, policy, read_receipts, created_at, updated_at) VALUES (5, 'erin', x'00', 0, 1, x'{Convert.ToHexString(Columns.Aid(aid))}', x'00', 0, 0, 0, 0)",
                $"INSERT INTO their_cards (relationship_id, position, aid, card, expires_at) VALUES (5, 0, x'{Convert.ToHexString(Columns.Aid(theirs))}', x'010203', 0)",
            })
            {
                using var command = version1.Command(sql);
                command.ExecuteNonQuery();
            }
        }

        using var upgraded = RmDatabase.Open(Path);

        Assert.Equal(Schema.LatestVersion, upgraded.Version);
        var card = Assert.Single(upgraded.GetTheirCards(5));
        Assert.Equal([1, 2, 3], card.Card);
        Assert.Null(card.RefreshRequestedAt);
        // The address the relationship began on is its one card of ours; the service keeps its place.
        Assert.Equal(aid, Assert.Single(upgraded.GetOurCards(5)).Address.Aid);
        Assert.Equal(7, Assert.Single(upgraded.GetServices()).Position);
    }

    [Fact]
    public void A_failing_migration_leaves_the_database_at_the_version_it_had()
    {
        using (RmDatabase.Open(Path))
        {
        }

        // The first statement of the broken migration succeeds, the second fails: neither may remain.
        var error = Assert.Throws<StateException>(() => RmDatabase.Open(Path, [.. Schema.Migrations, "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;"]));

        Assert.Equal(StateError.MigrationFailed, error.Error);
        using var database = RmDatabase.Open(Path);
        Assert.Equal(Schema.LatestVersion, database.Version);
        using var upgraded = RmDatabase.Open(Path, [.. Schema.Migrations, "CREATE TABLE half (x INTEGER);"]);
        Assert.Equal(Schema.LatestVersion + 1, upgraded.Version); // "half" did not exist: the failed attempt left nothing
    }

    [Fact]
    public void A_transaction_not_committed_leaves_nothing_behind()
    {
        using var database = RmDatabase.Open(Path);
        var aid = AddAddress(database);
        using (var writer = database.BeginWrite())
        {
            var id = writer.AddRelationship(Relationship("bob", aid), Now);
            writer.SetTheirCards(id, [new TheirCardRecord(0, AddressId.NewRandom(), [1, 2, 3], Now)]);
            writer.SetAddressState(aid, OwnAddressState.Relationship);

            // Disposed without Commit, as a crash between these writes would leave it.
        }

        Assert.Empty(database.GetRelationships());
        Assert.Equal(OwnAddressState.Unused, database.GetAddress(aid)!.State);
    }

    [Fact]
    public void A_copy_of_the_files_taken_mid_transaction_opens_without_half_a_relationship()
    {
        using var database = RmDatabase.Open(Path);
        var aid = AddAddress(database);
        using var writer = database.BeginWrite();
        var id = writer.AddRelationship(Relationship("bob", aid), Now);
        writer.SetTheirCards(id, [new TheirCardRecord(0, AddressId.NewRandom(), [1, 2, 3], Now)]);

        // What a process killed at this instant leaves on disk (the WAL may hold uncommitted pages).
        using var copy = _directory.CopyAsIs("edgerelay-rm-state-copy");
        using var recovered = RmDatabase.Open(copy.Combine("state.db"));

        Assert.Empty(recovered.GetRelationships());
        Assert.Empty(recovered.GetTheirCards(id));
        Assert.Single(recovered.GetAddresses(OwnAddressState.Unused));
    }

    [Fact]
    public void A_command_id_is_seen_once_and_an_invitation_used_once()
    {
        using var database = RmDatabase.Open(Path);
        var id = AddRelationship(database, "carol");
        var aid = database.GetRelationship(id)!.OurAddress;
        using var writer = database.BeginWrite();
        writer.AddInvitation(new InvitationRecord([7, 7], aid, [1], Now, Now.AddDays(1), null));

        Assert.True(writer.MarkSeen(id, [1, 2, 3], Now));
        Assert.False(writer.MarkSeen(id, [1, 2, 3], Now));
        Assert.True(writer.MarkInvitationUsed([7, 7], id));
        Assert.False(writer.MarkInvitationUsed([7, 7], id));
    }

    [Fact]
    public void A_receipt_raises_an_outgoing_status_and_never_lowers_it()
    {
        using var database = RmDatabase.Open(Path);
        var id = AddRelationship(database, "dave");
        using var writer = database.BeginWrite();
        writer.AddMessage(new MessageRecord(0, id, [9], MessageDirection.Out, "hi", Now, Now, 1));

        Assert.True(writer.RaiseOutgoingStatus(id, [9], 3));
        Assert.False(writer.RaiseOutgoingStatus(id, [9], 2));
        writer.Commit();
        Assert.Equal(3, database.GetMessages(id, 10).Single().Status);
    }

    [Fact]
    public void A_policy_survives_the_round_trip_and_an_invalid_one_is_corrupt()
    {
        var batched = DeliveryPolicy.Batched(TimeSpan.FromSeconds(30));

        Assert.Equal(batched, Columns.Policy(Columns.Policy(batched)));
        Assert.Equal(DeliveryPolicy.PullOnly, Columns.Policy(Columns.Policy(DeliveryPolicy.PullOnly)));
        Assert.Equal(StateError.Corrupt, Assert.Throws<StateException>(() => Columns.Policy(1L << 32)).Error); // batched without a window
    }

    private static RelationshipRecord Relationship(string name, AddressId aid) =>
        new(0, name, new PublicIdentity(new byte[32], Enumerable.Repeat((byte)1, 32).ToArray()), false, RelationshipState.Established, aid, [4, 5, 6], DeliveryPolicy.Immediate, false, Now);

    private static AddressId AddAddress(RmDatabase database)
    {
        var aid = AddressId.NewRandom();
        var card = new AddressCard(aid, Now.AddDays(30).ToUnixTimeSeconds(), new byte[32], "127.0.0.1:7400");
        using var writer = database.BeginWrite();
        var services = database.GetServices();
        var service = services.Count > 0 ? services[0].Id : writer.AddService("127.0.0.1:7400", null, ServiceRoles.Receiving | ServiceRoles.Sending, null, Now);
        writer.AddAddress(new OwnAddressRecord(aid, card.ToArray(), service, [1], Now.AddDays(30), OwnAddressState.Unused), Now);
        writer.Commit();
        return aid;
    }

    private static long AddRelationship(RmDatabase database, string name)
    {
        var aid = AddAddress(database);
        using var writer = database.BeginWrite();
        var id = writer.AddRelationship(Relationship(name, aid), Now);
        writer.Commit();
        return id;
    }
}
