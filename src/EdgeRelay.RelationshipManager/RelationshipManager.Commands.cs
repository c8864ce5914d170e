using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>Applies one opened command to its relationship, inside the transaction that moved the ratchet.</summary>
    private void Apply(RmWriter writer, ref RelationshipRecord relationship, Command opened, DateTimeOffset now, List<RmEvent> events)
    {
        if (relationship.State == RelationshipState.HandedOver)
        {
            ApplyHandedOver(writer, relationship, opened, now, events);
            return;
        }

        if (relationship.State == RelationshipState.Merged)
        {
            ApplyMerged(writer, relationship, opened, now, events);
            return;
        }

        // Held relationships (a key change not yet accepted) record what arrives but show nothing.
        var held = relationship.State == RelationshipState.KeyChangePending;
        if (relationship.State == RelationshipState.AwaitingReply)
        {
            relationship = relationship with { State = RelationshipState.Established };
            writer.UpdateRelationship(relationship, now);
            events.Add(new ContactEstablished(ToContact(relationship), TheyAccepted: false, now));
        }

        switch (opened)
        {
            case Message message:
                writer.AddMessage(new MessageRecord(0, relationship.Id, opened.Id.ToArray(), MessageDirection.In, message.Text, opened.SentAt, now, 0));
                // A held relationship gets nothing back, not even a receipt, until the user accepts the new keys.
                if (relationship.State is RelationshipState.Established or RelationshipState.AwaitingReply)
                {
                    Seal(writer, ref relationship, new Received([opened.Id]), now);
                }

                if (!held)
                {
                    events.Add(new MessageReceived(ToContact(relationship), MessageId.From(opened.Id), message.Text, opened.SentAt, now));
                }

                break;

            case Received received:
                AddReceipt(writer, relationship, received.Ids, ReceiptKind.Delivered, now, events, held);
                break;

            case Read read:
                AddReceipt(writer, relationship, read.Ids, ReceiptKind.Read, now, events, held);
                break;

            case Update update:
                if (update.Backup is { } backup)
                {
                    ApplyBackup(writer, relationship, backup, now, events);
                }

                var changed = update.Cards is { Count: > 0 } || update.Services is not null;
                if (update.Name is { } name && name != relationship.Name)
                {
                    // Taking another working contact's name would dress one person as another without a key change.
                    var current = relationship;
                    if (!IsValidName(name) || _database.GetRelationships().Any(r => r.Id != current.Id && IsWorking(r.State) && string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
                    {
                        events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.BadName), $"{relationship.Name} asked to be called a name that is invalid or another contact's; the name is kept.", now));
                    }
                    else
                    {
                        relationship = relationship with { Name = name };
                        writer.UpdateRelationship(relationship, now);
                        changed = true;
                    }
                }
                if (update.Cards is { Count: > 0 } cards)
                {
                    writer.SetTheirCards(relationship.Id, [.. cards.Select((card, i) => TheirCard(i, card))]);
                }

                if (update.Refresh is { Count: > 0 })
                {
                    writer.SetRefreshAsked(relationship.Id, now); // answered after the commit: it needs the relay
                }

                // A refresh request alone changes nothing the user sees: it is answered, not shown.
                if (!held && changed)
                {
                    events.Add(new ContactUpdated(ToContact(relationship), now));
                }

                break;

            case Terminated:
                relationship = relationship with { State = RelationshipState.TerminatedByThem };
                writer.UpdateRelationship(relationship, now);
                events.Add(new ContactTerminated(ToContact(relationship), now));
                break;

            case GroupCommand group:
                ApplyGroup(writer, relationship, group, now, events);
                break;

            case Successor successor:
                ApplySuccessor(writer, ref relationship, successor, now, events);
                break;

            case Merge merge:
                ApplyMerge(writer, ref relationship, merge, now, events);
                break;

            case Introduce:
                // Only ever valid as the body of an introduction envelope; inside a message it is a peer's bug.
                events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.UnexpectedIntroduce), "An introduction arrived inside an established relationship and was ignored.", now));
                break;
        }
    }

    private static void AddReceipt(RmWriter writer, RelationshipRecord relationship, IReadOnlyList<CommandId> ids, ReceiptKind kind, DateTimeOffset now, List<RmEvent> events, bool held)
    {
        var raised = ids.Where(id => writer.RaiseOutgoingStatus(relationship.Id, id.ToArray(), (int)kind)).Select(MessageId.From).ToList();
        if (raised.Count > 0 && !held)
        {
            events.Add(new ReceiptReceived(ToContact(relationship), raised, kind, now));
        }
    }
}
