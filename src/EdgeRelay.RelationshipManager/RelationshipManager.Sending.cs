using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    // How long an ephemeral address we derive for a send stays valid: room for a sending service's
    // batched delay and its retries, not more (a shorter validity is a shorter replay window at the relay).
    private static readonly TimeSpan EphemeralValidity = TimeSpan.FromHours(6);

    /// <summary>
    /// Sends a text message. It is sealed and stored first (so it survives a crash and is retried), then
    /// handed to a relay: the returned message says whether one accepted it (<see cref="MessageStatus.Sent"/>)
    /// or it is still <see cref="MessageStatus.Queued"/>.
    /// </summary>
    /// <exception cref="RmException">The contact is unknown, terminated, awaiting a key-change decision, or the text is too long.</exception>
    public Task<StoredMessage> SendAsync(Contact contact, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        ArgumentNullException.ThrowIfNull(text);
        return SerialisedAsync(
            async () =>
            {
                long messageRow;
                byte[] commandId;
                using (var writer = _database.BeginWrite())
                {
                    var relationship = Sendable(contact.Id);
                    var now = Time.GetUtcNow();
                    commandId = Seal(writer, ref relationship, new Message(text), now);
                    messageRow = writer.AddMessage(new MessageRecord(0, relationship.Id, commandId, MessageDirection.Out, text, now, now, (int)MessageStatus.Queued));
                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                return ToStoredMessage(_database.GetMessage(messageRow)!);
            },
            cancellationToken);
    }

    /// <summary>Hands every sealed envelope still waiting to a relay; returns how many are still waiting.</summary>
    public Task<int> RetryQueuedAsync(CancellationToken cancellationToken = default) =>
        SerialisedAsync(() => FlushOutboxAsync(cancellationToken), cancellationToken);

    /// <summary>
    /// Seals one command to a relationship inside <paramref name="writer"/>'s transaction: the ratchet step
    /// and the envelope in the outbox commit together, so a crash neither loses the envelope nor lets a
    /// message key be used twice. <paramref name="relationship"/> comes back with its new ratchet state, for
    /// the next command sealed in the same transaction.
    /// </summary>
    private byte[] Seal(RmWriter writer, ref RelationshipRecord relationship, Command command, DateTimeOffset now)
    {
        using var ratchet = OpenRatchet(relationship);
        SealedEnvelope sealedEnvelope;
        try
        {
            sealedEnvelope = _suite.Seal(ratchet, _keys.Identity, relationship.Identity, command);
        }
        catch (EnvelopeException e) when (e.Error == EnvelopeError.TooLarge)
        {
            throw new RmException(RmError.MessageTooLarge, "The message does not fit the largest envelope (16 KiB); shorten it.", e);
        }

        relationship = relationship with { SealedRatchet = SealRatchet(ratchet, relationship.Identity) };
        writer.SetRatchet(relationship.Id, relationship.SealedRatchet);
        var cards = _database.GetTheirCards(relationship.Id);
        var commandId = sealedEnvelope.Command.Id.ToArray();
        writer.AddOutbox(relationship.Id, sealedEnvelope.Bytes.ToArray(), cards.Count > 0 ? cards[0].Card : [], commandId, now);
        if (command is not Update { Refresh: not null })
        {
            RequestRefreshIfDue(writer, ref relationship, now);
        }

        return commandId;
    }

    /// <summary>
    /// Sends what the outbox holds, oldest first, each to the first of the contact's cards whose relay
    /// accepts it. A failure leaves the envelope queued (with its error recorded) for the next attempt.
    /// </summary>
    private async Task<int> FlushOutboxAsync(CancellationToken cancellationToken)
    {
        var waiting = 0;
        foreach (var entry in _database.GetOutbox())
        {
            var cards = _database.GetTheirCards(entry.RelationshipId).Select(c => Card(c.Card)).ToList();
            if (cards.Count == 0 && entry.Card.Length > 0)
            {
                cards.Add(Card(entry.Card));
            }

            string? error = null;
            var sent = false;
            foreach (var card in cards)
            {
                try
                {
                    await SendEnvelopeAsync(card, entry.Envelope, cancellationToken);
                    sent = true;
                    break;
                }
                catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
                {
                    error = e.Message;
                }
            }

            using var writer = _database.BeginWrite();
            if (sent)
            {
                writer.RemoveOutbox(entry.Id);
                writer.RaiseOutgoingStatus(entry.RelationshipId, entry.CommandId, (int)MessageStatus.Sent);
            }
            else
            {
                writer.RecordOutboxFailure(entry.Id, error ?? "The contact has no address card.");
                waiting++;
            }

            writer.Commit();
        }

        return waiting;
    }

    /// <summary>Through our sending service when we have one (SEND_VIA), else straight to the card's relay.</summary>
    private async Task SendEnvelopeAsync(AddressCard card, byte[] envelope, CancellationToken cancellationToken)
    {
        if (SendingService() is { SealedToken: { } sealedToken } service)
        {
            var token = Encoding.UTF8.GetString(_keys.StateSealer.Open(sealedToken, Sealing.ServiceToken(service.Endpoint)));
            var state = await _connections.RunAsync(
                service.Endpoint,
                _connections.ForService(service.Pin),
                async client =>
                {
                    await client.AuthenticateTokenAsync(token, cancellationToken);
                    return await client.SendViaAsync(card, envelope, EphemeralValidity, cancellationToken);
                },
                cancellationToken);
            if (state.State == SendStateKind.Failed)
            {
                throw new RelayException(state.Code, "The sending service could not deliver the message.");
            }

            return;
        }

        await _connections.RunAsync(
            card.Endpoint,
            _connections.ForCard(card),
            async client =>
            {
                await client.SendAsync(card, envelope, EphemeralValidity, cancellationToken);
                return true;
            },
            cancellationToken);
    }

    private RelationshipRecord Sendable(long contactId)
    {
        var relationship = _database.GetRelationship(contactId) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contactId}.");
        return relationship.State switch
        {
            RelationshipState.TerminatedByUs or RelationshipState.TerminatedByThem =>
                throw new RmException(RmError.RelationshipTerminated, $"The relationship with {relationship.Name} was terminated."),
            RelationshipState.KeyChangePending =>
                throw new RmException(RmError.KeyChangeNotAccepted, $"{relationship.Name} presented new keys: compare safety numbers (verify) and accept the change first."),
            _ => relationship,
        };
    }

    private RatchetState OpenRatchet(RelationshipRecord relationship)
    {
        var bytes = _keys.StateSealer.Open(relationship.SealedRatchet, Sealing.Ratchet(relationship.Identity));
        try
        {
            return RatchetState.FromBytes(bytes);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private byte[] SealRatchet(RatchetState ratchet, Identity.PublicIdentity theirs)
    {
        var bytes = ratchet.ToBytes();
        try
        {
            return _keys.StateSealer.Seal(bytes, Sealing.Ratchet(theirs));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
