using System.Globalization;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>Every relationship, terminated ones included, in the order they were made.</summary>
    public IReadOnlyList<Contact> GetContacts() => Serialised(() => _database.GetRelationships().Select(ToContact).ToList());

    /// <summary>
    /// Finds a contact by local id or by name. A name shared by a working relationship and others (held by a key
    /// change, or ended) means the working one; a name shared by several of the same standing is ambiguous.
    /// </summary>
    public Contact FindContact(string nameOrId)
    {
        ArgumentNullException.ThrowIfNull(nameOrId);
        return Serialised(() =>
        {
            var all = _database.GetRelationships();
            if (long.TryParse(nameOrId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && all.FirstOrDefault(r => r.Id == id) is { } byId)
            {
                return ToContact(byId);
            }

            // Working relationships first, then one held by a key change, then ended ones: the name means the
            // relationship the user would mean, and is ambiguous only among equals.
            var named = all.Where(r => string.Equals(r.Name, nameOrId, StringComparison.OrdinalIgnoreCase)).ToList();
            var pick = named.GroupBy(r => r.State switch
                {
                    RelationshipState.Established or RelationshipState.AwaitingReply => 0,
                    RelationshipState.KeyChangePending => 1,
                    _ => 2,
                })
                .OrderBy(g => g.Key)
                .Select(g => g.ToList())
                .FirstOrDefault() ?? [];
            return pick.Count switch
            {
                0 => throw new RmException(RmError.UnknownContact, $"No contact is called \"{nameOrId}\"."),
                1 => ToContact(pick[0]),
                _ => throw new RmException(RmError.AmbiguousContact, $"Several contacts are called \"{nameOrId}\": use the id ({string.Join(", ", pick.Select(r => r.Id))})."),
            };
        });
    }

    /// <summary>The safety number of our relationship with <paramref name="contact"/>, to compare with theirs.</summary>
    public string GetSafetyNumber(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return SafetyNumber.Compute(Identity, contact.Identity);
    }

    /// <summary>
    /// Marks the contact verified after the user compared safety numbers. With <paramref name="spokenNumber"/>
    /// (what the other person read out), a mismatch is refused and nothing changes. For a contact held by a key
    /// change, this is the user's acceptance: the new keys take the name, and the old relationship ends here.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.SafetyNumberMismatch"/>.</exception>
    public Contact ConfirmVerified(Contact contact, string? spokenNumber = null)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() =>
        {
            using var writer = _database.BeginWrite();
            var relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
            if (spokenNumber is not null && !SafetyNumber.Matches(SafetyNumber.Compute(Identity, relationship.Identity), spokenNumber))
            {
                throw new RmException(RmError.SafetyNumberMismatch, $"That is not the safety number of your relationship with {relationship.Name}: someone may stand between you. Nothing was changed.");
            }

            var now = Time.GetUtcNow();
            if (relationship.State == RelationshipState.KeyChangePending)
            {
                foreach (var old in _database.GetRelationships().Where(r => r.Id != relationship.Id && string.Equals(r.Name, relationship.Name, StringComparison.Ordinal)
                    && r.State is RelationshipState.Established or RelationshipState.AwaitingReply))
                {
                    writer.UpdateRelationship(old with { State = RelationshipState.TerminatedByUs }, now);
                }

                relationship = relationship with { State = RelationshipState.Established };
            }

            relationship = relationship with { Verified = true };
            writer.UpdateRelationship(relationship, now);
            writer.Commit();
            return ToContact(relationship);
        });
    }

    /// <summary>
    /// Sets how our relays deliver this contact's messages to us (immediate, batched, pull-only), on every address
    /// of ours they may use; addresses made later for the relationship (rotation, a new service) get it too.
    /// </summary>
    public Task<Contact> SetPolicyAsync(Contact contact, DeliveryPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return SerialisedAsync(
            async () =>
            {
                var relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
                foreach (var card in _database.GetOurCards(relationship.Id).Where(c => c.Address.State == OwnAddressState.Relationship && c.Address.ExpiresAt > Time.GetUtcNow()))
                {
                    await SetAddressPolicyAsync(card.Address, policy, cancellationToken);
                }

                using var writer = _database.BeginWrite();
                relationship = _database.GetRelationship(contact.Id)! with { Policy = policy };
                writer.UpdateRelationship(relationship, Time.GetUtcNow());
                writer.Commit();
                return ToContact(relationship);
            },
            cancellationToken);
    }

    /// <summary>Whether we tell this contact when we have read their messages (off by default).</summary>
    public Contact SetReadReceipts(Contact contact, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() =>
        {
            using var writer = _database.BeginWrite();
            var relationship = (_database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.")) with { ReadReceipts = enabled };
            writer.UpdateRelationship(relationship, Time.GetUtcNow());
            writer.Commit();
            return ToContact(relationship);
        });
    }

    /// <summary>The latest <paramref name="limit"/> messages with a contact, oldest first.</summary>
    public IReadOnlyList<StoredMessage> GetMessages(Contact contact, int limit = 50)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => _database.GetMessages(contact.Id, limit).Select(ToStoredMessage).ToList());
    }

    /// <summary>
    /// Every incoming message stored but not yet marked read (<see cref="MarkReadAsync"/>), oldest first: what an
    /// app shows after a crash that came between storing a message and showing it. One whose showing had begun
    /// (<see cref="BeginShowingAsync"/>) has <see cref="MessageReceived.MayRepeat"/> set. Messages of a relationship
    /// held by a key change are not included.
    /// </summary>
    public IReadOnlyList<MessageReceived> GetUnreadMessages() => Serialised(() =>
    {
        var relationships = _database.GetRelationships().ToDictionary(r => r.Id);
        return _database.GetUnshownMessages()
            .Where(m => relationships[m.RelationshipId].State != RelationshipState.KeyChangePending)
            .Select(m => new MessageReceived(ToContact(relationships[m.RelationshipId]), MessageId.From(m.CommandId), m.Text, m.SentAt, m.At) { MayRepeat = m.Status == IncomingStatus.Showing })
            .ToList();
    });

    /// <summary>
    /// Records, before the app shows these incoming messages, that it is about to; <see cref="MarkReadAsync"/>
    /// records, after, that it has. Between the two the app may die (killed, the machine off) with a message shown
    /// or not: the next <see cref="GetUnreadMessages"/> lists it again, with <see cref="MessageReceived.MayRepeat"/>
    /// set. An app that calls this before showing and marks what it showed read never shows a message twice
    /// without saying so, and never loses one. No app can do better: showing and recording cannot be one
    /// transaction, so one of them comes first.
    /// </summary>
    public Task BeginShowingAsync(IReadOnlyCollection<MessageReceived> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return SerialisedAsync(
            () =>
            {
                using var writer = _database.BeginWrite();
                foreach (var message in messages)
                {
                    writer.BeginShowing(message.Contact.Id, message.Id.ToBytes());
                }

                writer.Commit();
                return Task.FromResult(true);
            },
            cancellationToken);
    }

    /// <summary>
    /// Records that the user has seen these incoming messages, and tells the contact so if read receipts are
    /// on for them.
    /// </summary>
    public Task MarkReadAsync(Contact contact, IReadOnlyCollection<MessageId> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        ArgumentNullException.ThrowIfNull(messages);
        return SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
                    var ids = messages.Select(m => m.ToBytes()).ToList();
                    // Only the unshown ones are candidates: not the whole conversation, at every message shown.
                    var unread = _database.GetUnshownMessages()
                        .Where(m => m.RelationshipId == relationship.Id && ids.Any(id => id.AsSpan().SequenceEqual(m.CommandId)))
                        .ToList();
                    foreach (var message in unread)
                    {
                        writer.SetIncomingStatus(message.Id, IncomingStatus.Shown);
                    }

                    if (unread.Count > 0 && relationship.ReadReceipts && relationship.State is RelationshipState.Established or RelationshipState.AwaitingReply)
                    {
                        Seal(writer, ref relationship, new Read([.. unread.Select(m => CommandId.Read(m.CommandId))]), Time.GetUtcNow());
                    }

                    writer.Commit();
                }

                return await FlushOutboxAsync(cancellationToken);
            },
            cancellationToken);
    }

    /// <summary>
    /// Ends the relationship: tells them (so that they stop sending), then revokes our address for it. Nothing
    /// more is sent or shown.
    /// </summary>
    public Task<Contact> TerminateAsync(Contact contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return SerialisedAsync(
            async () =>
            {
                RelationshipRecord relationship;
                using (var writer = _database.BeginWrite())
                {
                    relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
                    if (relationship.State is RelationshipState.Established or RelationshipState.AwaitingReply)
                    {
                        Seal(writer, ref relationship, new Terminated(), Time.GetUtcNow());
                    }

                    relationship = relationship with { State = RelationshipState.TerminatedByUs };
                    writer.UpdateRelationship(relationship, Time.GetUtcNow());
                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                // An address a successor invitation shares with other relationships (§9.2) stays for them.
                foreach (var card in _database.GetOurCards(relationship.Id).Where(c => c.Address.State != OwnAddressState.Revoked && c.Address.ExpiresAt > Time.GetUtcNow() && !AddressServesOthers(relationship, c.Address.Aid)))
                {
                    await RevokeAddressAsync(card.Address, cancellationToken);
                }

                return ToContact(relationship);
            },
            cancellationToken);
    }

    private static Contact ToContact(RelationshipRecord r) =>
        new(r.Id, r.Name, r.Identity, r.Verified, r.State, r.Policy, r.ReadReceipts, r.CreatedAt);

    private static StoredMessage ToStoredMessage(MessageRecord m) =>
        new(MessageId.From(m.CommandId), m.Direction == MessageDirection.Out, m.Text, m.SentAt, m.At, m.Direction == MessageDirection.Out ? (MessageStatus)m.Status : MessageStatus.Delivered);
}
