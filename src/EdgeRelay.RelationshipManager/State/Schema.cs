namespace EdgeRelay.RelationshipManager.State;

/// <summary>
/// The SQLite schema, as the ordered list of migrations that build it. Version n is reached by applying
/// migrations 1..n; the version is SQLite's <c>user_version</c>, written in the same transaction as the
/// migration, so a crash mid-migration leaves the previous version whole.
/// </summary>
/// <remarks>
/// Never edit a migration that has shipped: append the next one. Secrets (owner keys, invitation secrets,
/// ratchet state, tokens) are stored sealed with the key store's state key (<c>Identity/StateSealer.cs</c>),
/// with the row's identity as associated data, so that a sealed value cannot be moved to another row.
/// </remarks>
internal static class Schema
{
    public static IReadOnlyList<string> Migrations { get; } =
    [
        // 1: the first schema.
        """
        CREATE TABLE profile (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            name TEXT NOT NULL,
            identity BLOB NOT NULL,
            created_at INTEGER NOT NULL);

        -- Relays this RM uses. roles: 1 receiving, 2 sending (flags). token: sealed, for SEND_VIA.
        CREATE TABLE services (
            id INTEGER PRIMARY KEY,
            endpoint TEXT NOT NULL UNIQUE,
            pin BLOB,
            roles INTEGER NOT NULL,
            token BLOB,
            added_at INTEGER NOT NULL);

        -- Our own long-term addresses. state: 0 unused, 1 in an invitation, 2 a relationship's, 3 revoked.
        CREATE TABLE addresses (
            aid BLOB PRIMARY KEY,
            card BLOB NOT NULL,
            service_id INTEGER NOT NULL REFERENCES services(id),
            owner_key BLOB NOT NULL,
            expires_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            state INTEGER NOT NULL);

        CREATE TABLE invitations (
            id BLOB PRIMARY KEY,
            aid BLOB NOT NULL REFERENCES addresses(aid),
            secrets BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            relationship_id INTEGER REFERENCES relationships(id));

        -- state: 0 awaiting their first message, 1 established, 2 terminated by us, 3 terminated by them,
        -- 4 key change (same name, new keys) not yet accepted by the user.
        CREATE TABLE relationships (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            identity BLOB NOT NULL,
            verified INTEGER NOT NULL,
            state INTEGER NOT NULL,
            our_aid BLOB NOT NULL REFERENCES addresses(aid),
            ratchet BLOB NOT NULL,
            policy INTEGER NOT NULL,
            read_receipts INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE INDEX relationships_by_address ON relationships(our_aid);

        -- The cards they gave us, in the order they want them tried.
        CREATE TABLE their_cards (
            relationship_id INTEGER NOT NULL REFERENCES relationships(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            aid BLOB NOT NULL,
            card BLOB NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (relationship_id, position));

        -- direction: 0 in, 1 out. status: out 0 queued, 1 sent, 2 delivered, 3 read; in 0 new, 1 shown.
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            relationship_id INTEGER NOT NULL REFERENCES relationships(id),
            command_id BLOB NOT NULL,
            direction INTEGER NOT NULL,
            text TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            UNIQUE (relationship_id, direction, command_id));

        -- Every command id received, so that a redelivered command is recognised even when its message
        -- number is still open (the relay delivers at least once).
        CREATE TABLE seen (
            relationship_id INTEGER NOT NULL,
            command_id BLOB NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (relationship_id, command_id));

        -- Envelopes sealed (their ratchet step is committed) but not yet accepted by a relay: written in the
        -- same transaction as the ratchet state, so a crash never loses a sealed message nor reuses a key.
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            relationship_id INTEGER NOT NULL REFERENCES relationships(id),
            envelope BLOB NOT NULL,
            card BLOB NOT NULL,
            command_id BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            last_error TEXT);
        """,

        // 2: when we asked a contact to refresh a card about to expire, so that we ask once per card.
        """
        ALTER TABLE their_cards ADD COLUMN refresh_requested_at INTEGER;
        """,

        // 3: a contact's request that we refresh our card, kept until answered (the answer needs the relay),
        // and at most one working relationship per identity.
        """
        ALTER TABLE relationships ADD COLUMN refresh_asked_at INTEGER;
        CREATE UNIQUE INDEX relationships_one_working_per_identity ON relationships(identity) WHERE state IN (0, 1, 4);
        """,

        // 4: several services. Sending services are tried in position order, in the sending mode the user
        // chose (1 immediate, 2 batched) where the service offers it; a receiving service can be sunset.
        // A relationship receives on several of our addresses (one per receiving service), announced in
        // position order; a replaced one (rotated, or on a sunset service) is no longer announced but still
        // collected until it expires. relationships.our_aid stays as the address the relationship began on.
        // A removed service keeps its row (its addresses name it) with removed_at set.
        """
        ALTER TABLE services ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE services ADD COLUMN sending_mode INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE services ADD COLUMN sunset_at INTEGER;
        ALTER TABLE services ADD COLUMN removed_at INTEGER;
        UPDATE services SET position = id;
        CREATE TABLE our_cards (
            relationship_id INTEGER NOT NULL REFERENCES relationships(id),
            aid BLOB NOT NULL REFERENCES addresses(aid),
            added_at INTEGER NOT NULL,
            replaced_at INTEGER,
            PRIMARY KEY (relationship_id, aid));
        CREATE INDEX our_cards_by_address ON our_cards(aid);
        INSERT INTO our_cards (relationship_id, aid, added_at) SELECT id, our_aid, created_at FROM relationships;
        -- An envelope a sending service queued (SEND_VIA) stays here, handed to it, until it reports the
        -- recipient's relay stored it; card_index is the contact's card it was sent to, the next one tried if
        -- that one fails or keeps it waiting.
        ALTER TABLE outbox ADD COLUMN handed_to INTEGER;
        ALTER TABLE outbox ADD COLUMN send_id INTEGER;
        ALTER TABLE outbox ADD COLUMN handed_at INTEGER;
        ALTER TABLE outbox ADD COLUMN card_index INTEGER NOT NULL DEFAULT 0;
        """,

        // 5: groups (docs/RM-PROTOCOL.md §8): our view of each group and its member list in the admin's order,
        // group messages, every group command to a member until a relationship with them can carry it, and the
        // invitations members exchange through the admin.
        """
        -- standing: 0 member, 1 left, 2 removed.
        CREATE TABLE groups (
            id BLOB PRIMARY KEY,
            name TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            standing INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL);

        CREATE TABLE group_members (
            group_id BLOB NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            identity BLOB NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (group_id, position));

        -- direction: 0 in, 1 out. status: in 0 new, 1 shown, 2 held (its sender joined at an epoch we have not
        -- seen yet); out 0.
        CREATE TABLE group_messages (
            id INTEGER PRIMARY KEY,
            group_id BLOB NOT NULL REFERENCES groups(id),
            sender BLOB NOT NULL,
            sender_name TEXT NOT NULL,
            message_id BLOB NOT NULL,
            direction INTEGER NOT NULL,
            text TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            sent_at INTEGER NOT NULL,
            at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            UNIQUE (group_id, sender, message_id));

        -- Encoded group commands, each for one member, written with the change that causes them and sealed into
        -- the outbox once a relationship with that member works: nothing is lost while it is being introduced.
        CREATE TABLE group_outbox (
            id INTEGER PRIMARY KEY,
            group_id BLOB NOT NULL,
            recipient BLOB NOT NULL,
            body BLOB NOT NULL,
            created_at INTEGER NOT NULL);

        -- direction 0: an invitation from a member that the admin forwarded to us, to accept; 1: one we sent a
        -- member, so that each is invited once per invitation lifetime.
        CREATE TABLE group_introductions (
            identity BLOB NOT NULL,
            direction INTEGER NOT NULL,
            group_id BLOB NOT NULL,
            name TEXT NOT NULL,
            invitation BLOB,
            at INTEGER NOT NULL,
            PRIMARY KEY (identity, direction));
        """,

        // 6: backups, merges and successors (docs/RM-PROTOCOL.md §9). Relationship states 5 (handed over to a
        // successor) and 6 (merged into another) are ended states, outside the one-working-per-identity index.
        """
        -- Our invitations made for a hand-over: several correspondents of the predecessor may accept each one.
        CREATE TABLE successor_invitations (
            id BLOB PRIMARY KEY REFERENCES invitations(id));

        -- Relationships created here by a successor invitation: they continue a conversation with our predecessor.
        CREATE TABLE continued_relationships (
            relationship_id INTEGER PRIMARY KEY REFERENCES relationships(id),
            invitation_id BLOB NOT NULL);

        -- A contact's successor awaiting the user's decision (the relationship was not verified): the invitation.
        CREATE TABLE proposed_successors (
            relationship_id INTEGER PRIMARY KEY REFERENCES relationships(id),
            invitation BLOB NOT NULL,
            at INTEGER NOT NULL);

        -- Identities a relationship had before a succession or a merge, and until when.
        CREATE TABLE previous_identities (
            relationship_id INTEGER NOT NULL REFERENCES relationships(id),
            identity BLOB NOT NULL,
            until INTEGER NOT NULL,
            PRIMARY KEY (relationship_id, identity));

        -- The backup identity each contact named (the latest).
        CREATE TABLE backups (
            relationship_id INTEGER PRIMARY KEY REFERENCES relationships(id),
            identity BLOB NOT NULL,
            at INTEGER NOT NULL);

        -- Halves of merge requests: keep 0 arrived over the relationship to fold, keep 1 over the one to keep.
        CREATE TABLE merge_requests (
            relationship_id INTEGER NOT NULL REFERENCES relationships(id),
            keep INTEGER NOT NULL,
            other BLOB NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (relationship_id, keep));
        """,
    ];

    public static int LatestVersion => Migrations.Count;
}
