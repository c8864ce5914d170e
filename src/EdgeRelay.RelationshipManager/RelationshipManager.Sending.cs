using EdgeRelay.Addressing;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
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
    /// Sends what the outbox holds, oldest first, through a sending service or straight to the contact's relays
    /// (<see cref="SendEnvelopeAsync"/>). A failure leaves the envelope queued (with its error recorded) for the
    /// next attempt.
    /// </summary>
    private async Task<int> FlushOutboxAsync(CancellationToken cancellationToken)
    {
        var waiting = 0;
        foreach (var entry in _database.GetOutbox())
        {
            var now = Time.GetUtcNow();
            // Their cards in the order they announced them, those already expired left out: their relays refuse them.
            var cards = _database.GetTheirCards(entry.RelationshipId).Where(c => c.ExpiresAt > now).Select(c => Card(c.Card)).ToList();
            if (cards.Count == 0 && entry.Card.Length > 0)
            {
                cards.Add(Card(entry.Card));
            }

            string? error = null;
            try
            {
                await SendEnvelopeAsync(cards, entry.Envelope, cancellationToken);
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                error = e.Message;
            }

            using var writer = _database.BeginWrite();
            if (error is null)
            {
                writer.RemoveOutbox(entry.Id);
                writer.RaiseOutgoingStatus(entry.RelationshipId, entry.CommandId, (int)MessageStatus.Sent);
            }
            else
            {
                writer.RecordOutboxFailure(entry.Id, error);
                waiting++;
            }

            writer.Commit();
        }

        return waiting;
    }

    private static bool IsSendFailure(Exception e) => e is RelayException or ServiceUnsuitableException || ServiceConnections.IsConnectionFailure(e);

    /// <summary>
    /// Hands one envelope on. With sending services: through the first that takes it, those that work before
    /// those degraded, draining or recently failed, each in the user's order; one that refuses, is down, or whose
    /// current limit (CONFIG) is below the envelope's size is passed over for the next. The recipient drops a
    /// second copy as a replay, so a service that queued it but failed to say so costs nothing but bandwidth.
    /// Without one: straight to the contact's cards in the order they announced, until one relay stores it.
    /// </summary>
    private async Task SendEnvelopeAsync(List<AddressCard> cards, byte[] envelope, CancellationToken cancellationToken)
    {
        if (cards.Count == 0)
        {
            throw new ServiceUnsuitableException("The contact has no unexpired address card.");
        }

        var now = Time.GetUtcNow();
        var senders = _database.GetServices().Where(s => s.IsSending).OrderBy(s => _connections.HealthOf(s.Endpoint).Rank(now)).ToList();
        Exception? failure = null;
        foreach (var service in senders)
        {
            var health = _connections.HealthOf(service.Endpoint);
            try
            {
                await SendThroughAsync(service, cards[0], envelope, cancellationToken);
                health.Succeeded();
                return;
            }
            catch (ServiceUnsuitableException e)
            {
                failure = e; // not a fault of the service: no back-off
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                health.Failed(e.Message, now);
                failure = e;
            }
        }

        if (senders.Count > 0)
        {
            throw failure!;
        }

        foreach (var card in cards)
        {
            try
            {
                await _connections.RunAsync(
                    card.Endpoint,
                    _connections.ForCard(card),
                    async client =>
                    {
                        await client.SendAsync(card, envelope, EphemeralValidity, cancellationToken);
                        return true;
                    },
                    cancellationToken);
                return;
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                failure = e;
            }
        }

        throw failure!;
    }

    /// <summary>One SEND_VIA through one sending service, within what its current status allows.</summary>
    private async Task SendThroughAsync(ServiceRecord service, AddressCard card, byte[] envelope, CancellationToken cancellationToken)
    {
        var token = OpenToken(service);
        var state = await _connections.RunAsync(
            service.Endpoint,
            _connections.ForService(service.Pin),
            async client =>
            {
                var status = await _connections.StatusAsync(service.Endpoint, client, cancellationToken);
                if (status.Availability == Availability.Draining)
                {
                    throw new RelayException(ErrorCode.ShuttingDown, $"{service.Endpoint} is draining: {status.Reason}");
                }

                if ((uint)envelope.Length > status.MaxSendViaCiphertext)
                {
                    throw new ServiceUnsuitableException($"{service.Endpoint} forwards at most {status.MaxSendViaCiphertext} bytes now; the envelope is {envelope.Length}.");
                }

                // Batched where the service offers it now; when its operator turns batching off, the conversation
                // still flows, immediately.
                var mode = service.SendingMode == (byte)SendingMode.Batched && status.SendingOptions.Any(o => o.Mode == SendingMode.Batched)
                    ? SendingMode.Batched
                    : SendingMode.Immediate;
                await client.AuthenticateTokenAsync(token, cancellationToken);
                return await client.SendViaAsync(card, envelope, mode, EphemeralValidity, cancellationToken);
            },
            cancellationToken);
        if (state.State == SendStateKind.Failed)
        {
            throw new RelayException(state.Code, $"{service.Endpoint} could not deliver the message.");
        }
    }

    private RelationshipRecord Sendable(long contactId)
    {
        var relationship = _database.GetRelationship(contactId) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contactId}.");
        return relationship.State switch
        {
            RelationshipState.TerminatedByUs or RelationshipState.TerminatedByThem or RelationshipState.HandedOver or RelationshipState.Merged =>
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
