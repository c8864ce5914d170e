using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// Merges (docs/RM-PROTOCOL.md §9.3): two relationships with one person become one when both of that person's
// identities say so. What arrives is in .Merges.Arrival.cs.
public sealed partial class RelationshipManager
{
    /// <summary>
    /// Tells a contact that we are also <paramref name="otherIdentity"/> (another app of ours they have a relationship
    /// with), so that their two relationships with us become one. <paramref name="keepThis"/> false: fold this
    /// relationship into the other one (they will write to <paramref name="otherIdentity"/> from then on); true: fold
    /// the other into this one. The other app must send the opposite request to the same contact: one alone changes
    /// nothing.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.CannotMerge"/> when <paramref name="otherIdentity"/> is ours or the contact's; the refusals of sending.</exception>
    public Task RequestMergeAsync(Contact contact, PublicIdentity otherIdentity, bool keepThis, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        ArgumentNullException.ThrowIfNull(otherIdentity);
        if (otherIdentity.Equals(Identity) || otherIdentity.Equals(contact.Identity))
        {
            throw new RmException(RmError.CannotMerge, "A merge names another app's identity: neither this app's nor the contact's.");
        }

        return SendCommandAsync(contact, new Merge(otherIdentity, keepThis), cancellationToken);
    }

    /// <summary>For a relationship a contact asked to fold (a <see cref="MergeProposed"/>), the one it would be folded into; else null.</summary>
    public Contact? GetProposedMerge(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => ProposedMerge(contact.Id) is { } pair ? ToContact(pair.Kept) : null);
    }

    /// <summary>
    /// The user accepts a merge a contact proposed (<see cref="MergeProposed"/>): <paramref name="contact"/> (the
    /// relationship to fold) ends, its messages move to the kept relationship, which is returned.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.NoMergeProposed"/>.</exception>
    public Task<Contact> AcceptMergeAsync(Contact contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return SerialisedAsync(
            async () =>
            {
                Contact kept;
                using (var writer = _database.BeginWrite())
                {
                    var (folded, into) = ProposedMerge(contact.Id) ?? throw new RmException(RmError.NoMergeProposed, $"No merge of contact {contact.Id} awaits your decision.");
                    kept = ToContact(Fold(writer, folded, into, Time.GetUtcNow()));
                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                return kept;
            },
            cancellationToken);
    }

    /// <summary>The user declines a proposed merge: both halves are forgotten and both relationships stay as they were.</summary>
    /// <exception cref="RmException"><see cref="RmError.NoMergeProposed"/>.</exception>
    public Contact DeclineMerge(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() =>
        {
            using var writer = _database.BeginWrite();
            var (folded, kept) = ProposedMerge(contact.Id) ?? throw new RmException(RmError.NoMergeProposed, $"No merge of contact {contact.Id} awaits your decision.");
            writer.RemoveMergeRequests(folded.Id);
            writer.RemoveMergeRequests(kept.Id);
            writer.Commit();
            return ToContact(folded);
        });
    }

    /// <summary>A complete pair of halves whose fold is <paramref name="relationshipId"/>, both relationships still working.</summary>
    private (RelationshipRecord Folded, RelationshipRecord Kept)? ProposedMerge(long relationshipId)
    {
        var requests = _database.GetMergeRequests();
        var relationships = _database.GetRelationships();
        if (relationships.FirstOrDefault(r => r.Id == relationshipId) is not { } folded
            || requests.FirstOrDefault(q => q.RelationshipId == relationshipId && !q.Keep) is not { } fold
            || relationships.FirstOrDefault(r => r.Identity.Equals(fold.Other) && IsMergeable(r.State)) is not { } kept
            || !IsMergeable(folded.State)
            || !requests.Any(q => q.RelationshipId == kept.Id && q.Keep && q.Other.Equals(folded.Identity)))
        {
            return null;
        }

        return (folded, kept);
    }

    /// <summary>
    /// Folds one relationship into another (§9.3): its messages move, its identity is recorded as a previous one of the
    /// kept relationship, verification carries, and it ends after telling the app that holds it.
    /// </summary>
    private RelationshipRecord Fold(RmWriter writer, RelationshipRecord folded, RelationshipRecord kept, DateTimeOffset now)
    {
        if (folded.State is RelationshipState.Established or RelationshipState.AwaitingReply)
        {
            Seal(writer, ref folded, new Terminated(), now);
        }

        writer.MoveConversation(folded.Id, kept.Id);
        writer.AddPreviousIdentity(kept.Id, folded.Identity, now);
        writer.RemoveMergeRequests(folded.Id);
        writer.RemoveMergeRequests(kept.Id);
        writer.UpdateRelationship(folded with { State = RelationshipState.Merged }, now);
        kept = kept with { Verified = kept.Verified || folded.Verified };
        writer.UpdateRelationship(kept, now);
        return kept;
    }

    private static bool IsMergeable(RelationshipState state) => state is RelationshipState.Established or RelationshipState.AwaitingReply;
}
