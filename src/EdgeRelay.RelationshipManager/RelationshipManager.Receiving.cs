using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;
using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Collects everything waiting on our addresses (PULL), processes it, acknowledges it to the relays once
    /// it is stored, and returns what happened, oldest first. Sends any queued envelopes too.
    /// </summary>
    public Task<IReadOnlyList<RmEvent>> ReceiveAsync(CancellationToken cancellationToken = default) =>
        SerialisedAsync<IReadOnlyList<RmEvent>>(
            async () =>
            {
                var events = new List<RmEvent>();
                Exception? unreachable = null;
                var reached = false;
                foreach (var group in LiveAddresses().GroupBy(a => a.ServiceId))
                {
                    var service = _database.GetService(group.Key) ?? throw new StateException(StateError.Corrupt, "An address names a service that is not recorded.");
                    try
                    {
                        await _connections.RunAsync(
                        service.Endpoint,
                        _connections.ForService(service.Pin),
                        async client =>
                        {
                            await AuthenticateAsync(client, group, cancellationToken);
                            foreach (var address in group)
                            {
                                await DrainAsync(client, address, events, cancellationToken);
                            }

                            return true;
                        },
                        cancellationToken);
                        reached = true;
                    }
                    catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
                    {
                        // Another relay's messages may already be stored and acknowledged: their events must not
                        // be lost with this one's failure, which is reported among them instead.
                        unreachable ??= e;
                        events.Add(new ConnectionChanged(service.Endpoint, false, null, e.Message, Time.GetUtcNow()));
                    }
                }

                if (unreachable is not null && !reached && events.All(e => e is ConnectionChanged))
                {
                    throw unreachable; // no relay answered and nothing arrived: the caller learns they are unavailable
                }

                await SendWhatProcessingQueuedAsync(cancellationToken);
                return events;
            },
            cancellationToken);

    private async Task AuthenticateAsync(RelayClient client, IEnumerable<OwnAddressRecord> addresses, CancellationToken cancellationToken)
    {
        var claims = addresses.Select(a => (a.Aid, OwnerKey(a))).ToList();
        try
        {
            await client.AuthenticateAsync(claims, cancellationToken);
        }
        finally
        {
            foreach (var (_, key) in claims)
            {
                key.Dispose();
            }
        }
    }

    private async Task DrainAsync(RelayClient client, OwnAddressRecord address, List<RmEvent> events, CancellationToken cancellationToken)
    {
        while (true)
        {
            var batch = await client.PullAsync(address.Aid, 100, cancellationToken);
            if (batch.Messages.Count > 0)
            {
                foreach (var message in batch.Messages)
                {
                    Process(address, message, events);
                }

                // Only now, with every one of them committed to the state database, may the relay forget them.
                await client.AckAsync(address.Aid, [.. batch.Messages.Select(m => m.Id)], cancellationToken);
            }

            if (!batch.More || batch.Messages.Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Processes one ciphertext that arrived on <paramref name="address"/>. Whatever the outcome — a command
    /// applied, a duplicate dropped, a forgery refused — it is final: the caller acknowledges it after this.
    /// </summary>
    private void Process(OwnAddressRecord address, ReceivedMessage message, List<RmEvent> events)
    {
        var envelope = message.Ciphertext;
        if (!Envelope.TryReadHeader(envelope.Span, out var header))
        {
            events.Add(new EnvelopeRefused(null, nameof(EnvelopeError.Malformed), "A ciphertext that is not an envelope of a known version, suite and kind arrived.", Time.GetUtcNow()));
            return;
        }

        try
        {
            if (header.Kind == EnvelopeKind.Introduction)
            {
                ProcessIntroduction(address, header.InvitationId!, envelope, events);
            }
            else
            {
                ProcessMessage(address, envelope, events);
            }
        }
        catch (Exception e) when (e is not (SqliteException or ObjectDisposedException or OperationCanceledException))
        {
            // Whatever this ciphertext makes fail would fail again at every redelivery: its transaction is rolled
            // back, and it is refused and acknowledged rather than left to block the address for good. Storage
            // errors, which a retry may not meet, propagate and leave it unacknowledged.
            events.Add(new EnvelopeRefused(null, nameof(RefusalCode.Unprocessable), $"A ciphertext could not be processed and was dropped: {e.Message}", Time.GetUtcNow()));
        }
    }

    /// <summary>
    /// After processing: keeps our cards current (refresh requests answered, rotation, services changed) and
    /// sends what was sealed (receipts, updates). Best effort: what no relay accepts now stays queued, and an
    /// unanswered request stays recorded, for the next call.
    /// </summary>
    private async Task SendWhatProcessingQueuedAsync(CancellationToken cancellationToken)
    {
        await MaintainAddressesIfDueAsync(cancellationToken);
        await DeliverGroupsAsync(cancellationToken);
        await FlushOutboxAsync(cancellationToken);
    }

    private void ProcessMessage(OwnAddressRecord address, ReadOnlyMemory<byte> envelope, List<RmEvent> events)
    {
        EnvelopeException? refusal = null;
        RelationshipRecord? candidate = null;
        var replay = false;
        foreach (var listed in _database.GetRelationshipsAt(address.Aid))
        {
            if (listed.State == RelationshipState.TerminatedByUs)
            {
                continue;
            }

            using var writer = _database.BeginWrite();
            // Read again inside the transaction: another process sharing the home may have moved the ratchet.
            var relationship = _database.GetRelationship(listed.Id)!;
            candidate = relationship;
            using var ratchet = OpenRatchet(relationship);
            Command opened;
            try
            {
                opened = Suite1.Open(ratchet, relationship.Identity, _keys.Identity, envelope.Span);
            }
            catch (EnvelopeException e) when (e.Error == EnvelopeError.Replay)
            {
                // Already processed (the relay delivers at least once), unless another relationship on this address
                // (a successor invitation's, docs/RM-PROTOCOL.md §9.2) opens it: its numbers may overlap this one's.
                replay = true;
                continue;
            }
            catch (EnvelopeException e)
            {
                refusal = e;
                continue;
            }

            var now = Time.GetUtcNow();
            relationship = relationship with { SealedRatchet = SealRatchet(ratchet, relationship.Identity) };
            writer.SetRatchet(relationship.Id, relationship.SealedRatchet);
            if (writer.MarkSeen(relationship.Id, opened.Id.ToArray(), now))
            {
                Apply(writer, ref relationship, opened, now, events);
            }

            writer.Commit();
            return;
        }

        if (replay)
        {
            return; // acknowledged again, shown once
        }

        events.Add(new EnvelopeRefused(
            candidate is null ? null : ToContact(candidate),
            refusal?.Error.ToString() ?? nameof(RefusalCode.UnknownAddress),
            refusal?.Message ?? "A message arrived on an address that belongs to no relationship.",
            Time.GetUtcNow()));
    }

    private void ProcessIntroduction(OwnAddressRecord address, byte[] invitationId, ReadOnlyMemory<byte> envelope, List<RmEvent> events)
    {
        var now = Time.GetUtcNow();
        var invitation = _database.GetInvitation(invitationId);
        if (invitation is null || !invitation.Aid.Equals(address.Aid))
        {
            events.Add(new EnvelopeRefused(null, nameof(EnvelopeError.UnknownInvitation), "An introduction names an invitation we did not issue on this address.", now));
            return;
        }

        OpenedIntroduction opened;
        using (var secrets = InvitationSecrets.Unseal(_keys.StateSealer, invitation.SealedSecrets, Sealing.InvitationSecrets(invitationId)))
        {
            try
            {
                opened = Suite1.OpenIntroduction(_keys.Identity, invitationId, secrets.InvitationPrivateKey, secrets.Secret, envelope.Span);
            }
            catch (EnvelopeException e)
            {
                events.Add(new EnvelopeRefused(null, e.Error.ToString(), e.Message, now));
                return;
            }
        }

        using var ratchet = opened.State;
        // Decided inside the write transaction: another process sharing the home may be handling the same
        // delivery, and an invitation is used once.
        using var writer = _database.BeginWrite();
        var relationships = _database.GetRelationships();
        if (_database.IsSuccessorInvitation(invitationId))
        {
            AcceptSuccessorIntroduction(writer, address, invitation, opened, relationships, events, now);
            return;
        }

        if (_database.GetInvitation(invitationId)!.RelationshipId is { } used)
        {
            // The same introduction delivered again is a duplicate; another person's is a second use.
            if (relationships.FirstOrDefault(r => r.Id == used) is not { } first || !first.Identity.Equals(opened.Acceptor))
            {
                events.Add(new EnvelopeRefused(null, nameof(RefusalCode.InvitationUsed), "A second person tried an invitation that was already accepted.", now));
            }

            return;
        }

        if (RefuseIntroduction(invitation, opened, relationships, successor: false, now) is { } refused)
        {
            events.Add(refused);
            return;
        }

        var clash = NameClash(relationships, opened.Command.Name, opened.Acceptor);
        var record = AddIntroducedRelationship(writer, address, invitationId, opened, clash, now);
        if (clash is null)
        {
            // The receipt is how the acceptor learns the relationship is established.
            Seal(writer, ref record, new Received([opened.Command.Id]), now);
            events.Add(new ContactEstablished(ToContact(record), TheyAccepted: true, now));
            _maintainedAt = null; // its addresses on our other receiving services are added and announced next
        }
        else
        {
            events.Add(new KeyChangeDetected(ToContact(record), ToContact(clash), now));
        }

        writer.Commit();
    }

    private static bool IsWorking(RelationshipState state) =>
        state is RelationshipState.Established or RelationshipState.AwaitingReply or RelationshipState.KeyChangePending;

    // Names arrive from others and are shown on terminals: control characters could rewrite the display.
    private static bool IsValidName(string name) => !string.IsNullOrWhiteSpace(name) && !name.Any(char.IsControl);

    /// <summary>
    /// The checks an introduction passes before it becomes a relationship, for an ordinary invitation and a
    /// successor one alike: the refusal to report, or null when it may be accepted.
    /// </summary>
    private static EnvelopeRefused? RefuseIntroduction(InvitationRecord invitation, OpenedIntroduction opened, IReadOnlyList<RelationshipRecord> relationships, bool successor, DateTimeOffset now)
    {
        if (invitation.ExpiresAt <= now)
        {
            return new EnvelopeRefused(null, nameof(RefusalCode.InvitationExpired), successor ? "An introduction arrived after its successor invitation expired." : "An introduction arrived after its invitation expired.", now);
        }

        if (relationships.Any(r => r.Identity.Equals(opened.Acceptor) && IsWorking(r.State)))
        {
            return new EnvelopeRefused(null, nameof(RefusalCode.AlreadyAContact), successor
                ? "Someone who is already a contact accepted the successor invitation; the existing relationship is kept."
                : "Someone who is already a contact accepted a second invitation; the existing relationship is kept.", now);
        }

        return IsValidName(opened.Command.Name)
            ? null
            : new EnvelopeRefused(null, nameof(RefusalCode.BadName), "An introduction carried a name with control characters.", now);
    }

    /// <summary>
    /// Records the relationship an accepted introduction starts, on the invitation's address, with the acceptor's
    /// cards and the introduction marked seen; a name clash leaves it waiting for the user's decision.
    /// </summary>
    private RelationshipRecord AddIntroducedRelationship(RmWriter writer, OwnAddressRecord address, byte[] invitationId, OpenedIntroduction opened, RelationshipRecord? clash, DateTimeOffset now)
    {
        var record = new RelationshipRecord(
            0,
            opened.Command.Name,
            opened.Acceptor,
            Verified: false,
            clash is null ? RelationshipState.Established : RelationshipState.KeyChangePending,
            address.Aid,
            SealRatchet(opened.State, opened.Acceptor),
            DeliveryPolicy.Immediate,
            ReadReceipts: false,
            now);
        var id = writer.AddRelationship(record, now);
        // For a successor invitation only the first acceptor is recorded: the invitation stays open for the others.
        writer.MarkInvitationUsed(invitationId, id);
        writer.SetAddressState(address.Aid, OwnAddressState.Relationship);
        writer.SetTheirCards(id, [.. opened.Command.Cards.Select((card, i) => TheirCard(i, card))]);
        writer.MarkSeen(id, opened.Command.Id.ToArray(), now);
        return record with { Id = id };
    }
}
