using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// What arrives for a merge (docs/RM-PROTOCOL.md §9.3): a half of a request, and anything still sent over a
// relationship after it was folded.
public sealed partial class RelationshipManager
{
    /// <summary>A receiver's checks of §9.3, in order; then the half is recorded, and a complete pair folds or is proposed.</summary>
    private void ApplyMerge(RmWriter writer, ref RelationshipRecord relationship, Merge merge, DateTimeOffset now, List<RmEvent> events)
    {
        if (relationship.State != RelationshipState.Established)
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.NotWorking), "A merge arrived in a relationship held by a key change or ended; it was ignored.", now));
            return;
        }

        var sender = relationship.Identity;
        var other = merge.Identity.Equals(sender) || merge.Identity.Equals(Identity)
            ? null
            : _database.GetRelationships().FirstOrDefault(r => r.Identity.Equals(merge.Identity) && IsMergeable(r.State));
        if (other is null)
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.MergeUnknownIdentity), $"{relationship.Name} asked to merge with an identity that is not another working contact; nothing changed.", now));
            return;
        }

        var otherHalf = _database.GetMergeRequests().Where(q => q.RelationshipId == other.Id && q.Other.Equals(sender)).ToList();
        if (otherHalf.Any(q => q.Keep == merge.Keep))
        {
            // Both sides want the same role: no way to tell which relationship the person means to keep.
            writer.RemoveMergeRequests(relationship.Id);
            writer.RemoveMergeRequests(other.Id);
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.MergeConflict), $"The two halves of a merge of {relationship.Name} and {other.Name} disagree on which to keep; both were dropped.", now));
            return;
        }

        writer.AddMergeRequest(relationship.Id, merge.Keep, merge.Identity, now);
        if (otherHalf.Count == 0)
        {
            return; // one identity's word alone changes nothing
        }

        var folded = merge.Keep ? other : relationship;
        var kept = merge.Keep ? relationship : other;
        var automatic = folded.Verified || kept.Verified
            || (_database.GetBackup(kept.Id) is { } keptBackup && keptBackup.Equals(folded.Identity))
            || (_database.GetBackup(folded.Id) is { } foldedBackup && foldedBackup.Equals(kept.Identity));
        if (!automatic)
        {
            events.Add(new MergeProposed(ToContact(folded), ToContact(kept), now));
            return;
        }

        kept = Fold(writer, folded, kept, now);
        relationship = _database.GetRelationship(relationship.Id)!;
        events.Add(new ContactsMerged(ToContact(_database.GetRelationship(folded.Id)!), ToContact(kept), Automatically: true, now));
    }

    /// <summary>
    /// Over a folded relationship, until its app learns it ended: messages and receipts count in the kept relationship,
    /// so that nothing sent in between is lost; anything else is ignored.
    /// </summary>
    private void ApplyMerged(RmWriter writer, RelationshipRecord relationship, Command opened, DateTimeOffset now, List<RmEvent> events)
    {
        if (_database.GetSuccessorOf(relationship.Identity) is not { } keptId || _database.GetRelationship(keptId) is not { } kept)
        {
            return;
        }

        switch (opened)
        {
            case Message message:
                writer.AddMessage(new MessageRecord(0, kept.Id, opened.Id.ToArray(), MessageDirection.In, message.Text, opened.SentAt, now, 0));
                events.Add(new MessageReceived(ToContact(kept), MessageId.From(opened.Id), message.Text, opened.SentAt, now));
                break;
            case Received received:
                AddReceipt(writer, kept, received.Ids, ReceiptKind.Delivered, now, events, held: false);
                break;
            case Read read:
                AddReceipt(writer, kept, read.Ids, ReceiptKind.Read, now, events, held: false);
                break;
        }
    }
}
