using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// What arrives in a hand-over (docs/RM-PROTOCOL.md §9.2): a successor command at a correspondent, an introduction to
// a successor invitation at the new app, and anything at the old app after it handed over.
public sealed partial class RelationshipManager
{
    /// <summary>A correspondent's checks of §9.2, in order; then the switch, or the user's decision.</summary>
    private void ApplySuccessor(RmWriter writer, ref RelationshipRecord relationship, Successor successor, DateTimeOffset now, List<RmEvent> events)
    {
        if (relationship.State != RelationshipState.Established)
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.NotWorking), "A successor arrived in a relationship held by a key change or ended; it was ignored.", now));
            return;
        }

        Invitation invitation;
        try
        {
            invitation = Invitation.DecodeIgnoringExpiry(successor.Invitation.Span);
        }
        catch (InvitationException e)
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.SuccessorInvalid), $"{relationship.Name} named a successor whose invitation is not valid ({e.Error}); nothing changed.", now));
            return;
        }

        if (invitation.Inviter.Equals(relationship.Identity) || invitation.Inviter.Equals(Identity))
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.SuccessorInvalid), $"{relationship.Name} named a successor that is themselves or you; nothing changed.", now));
            return;
        }

        if (invitation.IsExpiredAt(now))
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.SuccessorExpired), $"{relationship.Name} named a successor whose invitation had expired; nothing changed.", now));
            return;
        }

        if (_database.GetRelationships().Any(r => r.Identity.Equals(invitation.Inviter) && IsWorking(r.State)))
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.SuccessorAlreadyAContact), $"{relationship.Name} named a successor that is already a contact; a merge joins the two.", now));
            return;
        }

        // The successor is vouched for by the sender's key. That is enough when the user verified that key, or when the
        // sender had named this very identity as its backup earlier: either way the user decided nothing new.
        var backup = _database.GetBackup(relationship.Id);
        if (relationship.Verified || (backup is not null && backup.Equals(invitation.Inviter)))
        {
            var previous = relationship.Identity;
            SwitchToSuccessor(writer, ref relationship, invitation, now);
            events.Add(new SuccessorAccepted(ToContact(relationship), previous, Automatically: true, now));
            return;
        }

        writer.ProposeSuccessor(relationship.Id, invitation.ToArray(), now);
        events.Add(new SuccessorProposed(ToContact(relationship), invitation.Inviter, SafetyNumber.Compute(Identity, invitation.Inviter), now));
    }

    /// <summary>
    /// Moves the relationship to the successor: the same row (so the same contact and history), the new identity with
    /// the state of a fresh introduction to its invitation, our address for this relationship kept, and every message the
    /// old app never confirmed sealed again to the new one, under the same message row.
    /// </summary>
    private void SwitchToSuccessor(RmWriter writer, ref RelationshipRecord relationship, Invitation invitation, DateTimeOffset now)
    {
        var address = _database.GetAddress(relationship.OurAddress) ?? throw new StateException(StateError.Corrupt, "A relationship names an address that is not recorded.");
        var introduction = _suite.SealIntroduction(_keys.Identity, invitation.Inviter, invitation.Id, invitation.InvitationKey, invitation.Secret, Name, [Card(address.Card)]);
        using (var ratchet = introduction.State)
        {
            writer.AddPreviousIdentity(relationship.Id, relationship.Identity, now);
            // What is still queued was sealed to the old identity: the new one could not open it. Messages among it are
            // unconfirmed, so they are sealed again below.
            writer.DropOutbox(relationship.Id);
            relationship = relationship with
            {
                Identity = invitation.Inviter,
                State = RelationshipState.AwaitingReply,
                SealedRatchet = SealRatchet(ratchet, invitation.Inviter),
            };
            writer.ReplaceIdentity(relationship.Id, relationship.Identity, relationship.SealedRatchet, relationship.State, now);
        }

        writer.SetTheirCards(relationship.Id, [TheirCard(0, invitation.Card)]);
        writer.AddOutbox(relationship.Id, introduction.Bytes.ToArray(), invitation.Card.ToArray(), introduction.Command.Id.ToArray(), now);
        writer.RemoveProposedSuccessor(relationship.Id);
        foreach (var message in _database.GetUnconfirmedOutgoing(relationship.Id))
        {
            writer.ResendMessage(message.Id, Seal(writer, ref relationship, new Message(message.Text), now));
        }
    }

    /// <summary>
    /// After we handed over: receipts for what we sent before still count; anything else is acknowledged without being
    /// stored or answered, because the correspondent resends to the successor every message we never confirmed.
    /// </summary>
    private static void ApplyHandedOver(RmWriter writer, RelationshipRecord relationship, Command opened, DateTimeOffset now, List<RmEvent> events)
    {
        switch (opened)
        {
            case Received received:
                AddReceipt(writer, relationship, received.Ids, ReceiptKind.Delivered, now, events, held: false);
                break;
            case Read read:
                AddReceipt(writer, relationship, read.Ids, ReceiptKind.Read, now, events, held: false);
                break;
        }
    }

    /// <summary>
    /// The new app's side: an introduction to a successor invitation. Unlike an ordinary invitation it may be used by
    /// several people (each correspondent of the predecessor), each at most once.
    /// </summary>
    private void AcceptSuccessorIntroduction(RmWriter writer, OwnAddressRecord address, InvitationRecord invitation, OpenedIntroduction opened, IReadOnlyList<RelationshipRecord> relationships, List<RmEvent> events, DateTimeOffset now)
    {
        // The same introduction delivered again: its acceptor already has a relationship from this invitation.
        if (relationships.Any(r => r.Identity.Equals(opened.Acceptor) && _database.GetContinuedBy(r.Id) is { } by && by.AsSpan().SequenceEqual(invitation.Id)))
        {
            return;
        }

        if (RefuseIntroduction(invitation, opened, relationships, successor: true, now) is { } refused)
        {
            events.Add(refused);
            return;
        }

        var clash = NameClash(relationships, opened.Command.Name, opened.Acceptor);
        var record = AddIntroducedRelationship(writer, address, invitation.Id, opened, clash, now);
        writer.AddContinuedRelationship(record.Id, invitation.Id);
        if (clash is null)
        {
            Seal(writer, ref record, new Received([opened.Command.Id]), now);
            events.Add(new ContactContinued(ToContact(record), now));
        }
        else
        {
            events.Add(new KeyChangeDetected(ToContact(record), ToContact(clash), now));
        }

        writer.Commit();
    }

    /// <summary>
    /// Whether another relationship that is not ended receives on <paramref name="aid"/>: the relationships a
    /// successor invitation created share its address, so ending one must not revoke it for the others.
    /// </summary>
    private bool AddressServesOthers(RelationshipRecord relationship, AddressId aid) =>
        _database.GetRelationshipsAt(aid).Any(r => r.Id != relationship.Id && IsWorking(r.State));
}
