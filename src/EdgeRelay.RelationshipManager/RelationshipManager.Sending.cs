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
    /// (<see cref="SendEnvelopeAsync"/>), then follows what sending services hold (<see cref="FollowHandoffsAsync"/>).
    /// A failure leaves the envelope queued (with its error recorded) for the next attempt.
    /// </summary>
    /// <returns>How many envelopes no relay holds yet.</returns>
    private async Task<int> FlushOutboxAsync(CancellationToken cancellationToken)
    {
        var waiting = 0;
        foreach (var entry in _database.GetOutbox().Where(e => e.HandedTo is null))
        {
            var cards = SendableCards(entry);
            string? error = null;
            Handoff? handoff = null;
            try
            {
                handoff = await SendEnvelopeAsync(cards, entry.Envelope, entry.CardIndex, cancellationToken);
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                error = e.Message;
            }

            using var writer = _database.BeginWrite();
            if (error is not null)
            {
                writer.RecordOutboxFailure(entry.Id, error);
                waiting++;
            }
            else
            {
                if (handoff is { } h)
                {
                    writer.MarkHandedOff(entry.Id, h.ServiceId, h.SendId, h.CardIndex, Time.GetUtcNow());
                }
                else
                {
                    writer.RemoveOutbox(entry.Id);
                }

                writer.RaiseOutgoingStatus(entry.RelationshipId, entry.CommandId, (int)MessageStatus.Sent);
            }

            writer.Commit();
        }

        await FollowHandoffsAsync(cancellationToken);
        return waiting;
    }

    /// <summary>
    /// The contact's cards in the order they announced them, those already expired left out (their relays refuse
    /// them), each once per endpoint it names (<see cref="Routes"/>).
    /// </summary>
    private List<AddressCard> SendableCards(OutboxRecord entry)
    {
        var now = Time.GetUtcNow();
        var cards = _database.GetTheirCards(entry.RelationshipId).Where(c => c.ExpiresAt > now).Select(c => Card(c.Card)).ToList();
        if (cards.Count == 0 && entry.Card.Length > 0)
        {
            cards.Add(Card(entry.Card));
        }

        return Routes(cards);
    }

    private static bool IsSendFailure(Exception e) => e is RelayException or ServiceUnsuitableException || ServiceConnections.IsConnectionFailure(e);

    /// <summary>
    /// Asks each sending service holding envelopes how they went (SEND_STATUS). Stored (or no longer known to it):
    /// done. Failed, or still waiting after <see cref="RelationshipManagerOptions.SendingPatience"/>: sent again to
    /// the contact's next card, since their first relay may be down; the recipient drops whichever copy comes
    /// second. A service that cannot be asked is given the same patience.
    /// </summary>
    private async Task FollowHandoffsAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var released = new HashSet<long>();
        foreach (var held in _database.GetOutbox().Where(e => e.HandedTo is not null).GroupBy(e => e.HandedTo!.Value))
        {
            var service = _database.GetService(held.Key);
            IReadOnlyList<SendState>? states = null;
            if (service is { IsSending: true })
            {
                try
                {
                    var token = OpenToken(service);
                    states = await _connections.RunAsync(
                        service.Endpoint,
                        _connections.ForService(service.Pin),
                        async client =>
                        {
                            await client.AuthenticateTokenAsync(token, cancellationToken);
                            return await client.GetSendStatesAsync([.. held.Select(e => e.SendId)], cancellationToken);
                        },
                        cancellationToken);
                }
                catch (Exception e) when (IsSendFailure(e))
                {
                    _connections.HealthOf(service.Endpoint).Failed(e.Message, now);
                }
            }

            var entries = held.ToList();
            using var writer = _database.BeginWrite();
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                var state = states?[i].State;
                if (state is SendStateKind.Delivered or SendStateKind.Unknown)
                {
                    writer.RemoveOutbox(entry.Id);
                }
                else if (state == SendStateKind.Failed
                    || (now - entry.HandedAt >= _options.SendingPatience && entry.CardIndex + 1 < SendableCards(entry).Count))
                {
                    // A copy waiting for a relay that is down is sent once to each other card, never round and round:
                    // the service keeps trying the first, and whichever arrives first is shown.
                    writer.ReleaseHandoff(entry.Id, entry.CardIndex + 1);
                    released.Add(entry.Id);
                }
            }

            writer.Commit();
        }

        // What was released goes out now, to the next card.
        foreach (var entry in _database.GetOutbox().Where(e => released.Contains(e.Id)))
        {
            await ResendReleasedAsync(entry, cancellationToken);
        }
    }

    private async Task ResendReleasedAsync(OutboxRecord entry, CancellationToken cancellationToken)
    {
        Handoff? handoff;
        try
        {
            handoff = await SendEnvelopeAsync(SendableCards(entry), entry.Envelope, entry.CardIndex, cancellationToken);
        }
        catch (Exception e) when (IsSendFailure(e))
        {
            using var failed = _database.BeginWrite();
            failed.RecordOutboxFailure(entry.Id, e.Message);
            failed.Commit();
            return;
        }

        using var writer = _database.BeginWrite();
        if (handoff is { } h)
        {
            writer.MarkHandedOff(entry.Id, h.ServiceId, h.SendId, h.CardIndex, Time.GetUtcNow());
        }
        else
        {
            writer.RemoveOutbox(entry.Id);
        }

        writer.Commit();
    }

    /// <summary>
    /// Hands one envelope on. With sending services: through the first that takes it, those that work before
    /// those degraded, draining or recently failed, each in the user's order; one that refuses, is down, or whose
    /// current limit (CONFIG) is below the envelope's size is passed over for the next. It goes to the contact's
    /// card <paramref name="cardIndex"/> (the first, unless an earlier attempt through a service failed or waited
    /// too long, <see cref="FollowHandoffsAsync"/>). The recipient drops a second copy as a replay, so a service
    /// that queued it but failed to say so costs nothing but bandwidth.
    /// Without one: straight to the contact's cards in the order they announced, until one relay stores it; a card
    /// naming several endpoints is tried at the next only when one cannot be reached.
    /// </summary>
    /// <returns>The service holding it, when one queued it for later forwarding; null when a relay stored it.</returns>
    private async Task<Handoff?> SendEnvelopeAsync(List<AddressCard> cards, byte[] envelope, int cardIndex, CancellationToken cancellationToken)
    {
        if (cards.Count == 0)
        {
            throw new ServiceUnsuitableException("The contact has no unexpired address card.");
        }

        var now = Time.GetUtcNow();
        var senders = _database.GetServices().Where(s => s.IsSending).OrderBy(s => _connections.HealthOf(s.Endpoint).Rank(now)).ToList();
        Exception? failure = null;
        var index = cardIndex % cards.Count;
        foreach (var service in senders)
        {
            var health = _connections.HealthOf(service.Endpoint);
            try
            {
                var state = await SendThroughAsync(service, cards[index], envelope, cancellationToken);
                health.Succeeded();
                return state.State == SendStateKind.Queued && state.SendId > 0 ? new Handoff(service.Id, state.SendId, index) : null;
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

        await SendDirectlyAsync(cards, envelope, cancellationToken);
        return null;
    }

    /// <summary>An envelope a sending service queued: which service, its send id there, and the card it went to.</summary>
    private readonly record struct Handoff(long ServiceId, long SendId, int CardIndex);

    /// <summary>One SEND_VIA through one sending service, within what its current status allows.</summary>
    private async Task<SendState> SendThroughAsync(ServiceRecord service, AddressCard card, byte[] envelope, CancellationToken cancellationToken)
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

        return state;
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
