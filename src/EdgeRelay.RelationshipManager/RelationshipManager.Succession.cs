using System.Buffers;
using System.Buffers.Text;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// Handing over to a successor app (docs/RM-PROTOCOL.md §9.2): what the new app, the old app and a correspondent's
// user do. What arrives is in .Succession.Arrival.cs.
public sealed partial class RelationshipManager
{
    /// <summary>The text form of a successor invitation: the binary invitation (§3.1), marked so that it is not taken for an ordinary one.</summary>
    public const string SuccessorTextPrefix = "edgerelay-successor1:";

    /// <summary>
    /// The new app's side of a hand-over: creates an invitation that the old app sends to every correspondent
    /// (<see cref="HandOverAsync"/>). Unlike an ordinary invitation, several correspondents may accept it until it
    /// expires; each relationship it creates is reported as <see cref="ContactContinued"/>. It holds public data only:
    /// our identity's public keys, a one-time public key, a secret that only opens introductions to us, and a card.
    /// </summary>
    /// <returns>The text form, <c>edgerelay-successor1:…</c>, to give to the old app (<c>edgerelay-rm successor handover</c>).</returns>
    public Task<string> CreateSuccessorInvitationAsync(CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                var invitation = await IssueInvitationAsync(successor: true, cancellationToken);
                return SuccessorTextPrefix + Base64Url.EncodeToString(invitation.ToArray());
            },
            cancellationToken);

    /// <summary>
    /// The old app's side of a hand-over: introduces the successor to every working correspondent, in a
    /// <c>successor</c> command signed by our identity, and stops: those relationships become
    /// <see cref="RelationshipState.HandedOver"/> (nothing more is sent from here). No key leaves this app: the
    /// successor has its own identity, and correspondents who accept it move to it.
    /// </summary>
    /// <returns>The contacts told, as they stand now.</returns>
    /// <exception cref="RmException"><see cref="RmError.NotASuccessorInvitation"/> or <see cref="RmError.OwnInvitation"/>.</exception>
    /// <exception cref="InvitationException">The invitation is invalid or expired.</exception>
    public Task<IReadOnlyList<Contact>> HandOverAsync(string successorInvitation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(successorInvitation);
        return SerialisedAsync<IReadOnlyList<Contact>>(
            async () =>
            {
                var invitation = ParseSuccessor(successorInvitation.Trim(), Time.GetUtcNow());
                if (invitation.Inviter.Equals(Identity))
                {
                    throw new RmException(RmError.OwnInvitation, "This successor invitation is this app's own: create it in the new app.");
                }

                var told = new List<Contact>();
                using (var writer = _database.BeginWrite())
                {
                    var now = Time.GetUtcNow();
                    var bytes = invitation.ToArray();
                    foreach (var listed in _database.GetRelationships().Where(r => r.State is RelationshipState.Established or RelationshipState.AwaitingReply))
                    {
                        var relationship = listed;
                        Seal(writer, ref relationship, new Successor(bytes), now);
                        relationship = relationship with { State = RelationshipState.HandedOver };
                        writer.UpdateRelationship(relationship, now);
                        told.Add(ToContact(relationship));
                    }

                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                return told;
            },
            cancellationToken);
    }

    /// <summary>The successor awaiting the user's decision for this contact (a <see cref="SuccessorProposed"/>), or null.</summary>
    public PublicIdentity? GetProposedSuccessor(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => _database.GetProposedSuccessor(contact.Id) is { } proposed
            ? Invitation.DecodeIgnoringExpiry(proposed.Invitation).Inviter
            : null);
    }

    /// <summary>
    /// The user accepts a contact's successor app (after a <see cref="SuccessorProposed"/>): the same contact continues
    /// with the new identity, its history kept; our introduction goes to the successor, and every message the old app
    /// never confirmed is sent again to the new one. The relationship stays as verified as it was.
    /// </summary>
    /// <exception cref="RmException"><see cref="RmError.NoSuccessorProposed"/>, <see cref="RmError.RelationshipTerminated"/>,
    /// or <see cref="RmError.AlreadyAContact"/> when the successor became a contact meanwhile.</exception>
    /// <exception cref="InvitationException">The successor's invitation expired (<see cref="InvitationError.Expired"/>).</exception>
    public Task<Contact> AcceptSuccessorAsync(Contact contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return SerialisedAsync(
            async () =>
            {
                Contact accepted;
                using (var writer = _database.BeginWrite())
                {
                    var relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
                    var proposed = _database.GetProposedSuccessor(relationship.Id)
                        ?? throw new RmException(RmError.NoSuccessorProposed, $"{relationship.Name} has proposed no successor app.");
                    if (relationship.State is not (RelationshipState.Established or RelationshipState.AwaitingReply))
                    {
                        throw new RmException(RmError.RelationshipTerminated, $"The relationship with {relationship.Name} is not working any more.");
                    }

                    var now = Time.GetUtcNow();
                    var invitation = Invitation.Decode(proposed.Invitation, now);
                    if (_database.GetRelationships().Any(r => r.Identity.Equals(invitation.Inviter) && IsWorking(r.State)))
                    {
                        throw new RmException(RmError.AlreadyAContact, $"The successor of {relationship.Name} is already a contact: merge the two relationships instead.");
                    }

                    SwitchToSuccessor(writer, ref relationship, invitation, now);
                    accepted = ToContact(relationship);
                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                return accepted;
            },
            cancellationToken);
    }

    /// <summary>The user declines a contact's successor app: the proposal is forgotten and the relationship stays as it was.</summary>
    /// <exception cref="RmException"><see cref="RmError.NoSuccessorProposed"/>.</exception>
    public Contact DeclineSuccessor(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() =>
        {
            using var writer = _database.BeginWrite();
            var relationship = _database.GetRelationship(contact.Id) ?? throw new RmException(RmError.UnknownContact, $"No contact has id {contact.Id}.");
            if (!writer.RemoveProposedSuccessor(relationship.Id))
            {
                throw new RmException(RmError.NoSuccessorProposed, $"{relationship.Name} has proposed no successor app.");
            }

            writer.Commit();
            return ToContact(relationship);
        });
    }

    /// <summary>The identities this contact had before (successions and merges), oldest first.</summary>
    public IReadOnlyList<PublicIdentity> GetPreviousIdentities(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => _database.GetPreviousIdentities(contact.Id));
    }

    /// <summary>Whether this relationship was created by our successor invitation: it continues a conversation our predecessor app had.</summary>
    public bool ContinuesPredecessor(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => _database.GetContinuedBy(contact.Id) is not null);
    }

    /// <summary>Seals one command to a working contact and sends it (queued if no relay takes it now).</summary>
    internal Task SendCommandAsync(Contact contact, Command command, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var relationship = Sendable(contact.Id);
                    Seal(writer, ref relationship, command, Time.GetUtcNow());
                    writer.Commit();
                }

                return await FlushOutboxAsync(cancellationToken);
            },
            cancellationToken);

    /// <summary>Reads <c>edgerelay-successor1:…</c> as strictly as an ordinary invitation's text (§3.4 step 1), then the invitation.</summary>
    private static Invitation ParseSuccessor(string text, DateTimeOffset now)
    {
        if (!text.StartsWith(SuccessorTextPrefix, StringComparison.Ordinal))
        {
            throw new RmException(RmError.NotASuccessorInvitation, $"A successor invitation starts with \"{SuccessorTextPrefix}\": create one in the new app (edgerelay-rm successor invite).");
        }

        var payload = text.AsSpan(SuccessorTextPrefix.Length);
        var buffer = new byte[Base64Url.GetMaxDecodedLength(payload.Length)];
        if (payload.Length > Invitation.MaxTextLength || payload.Contains('=')
            || Base64Url.DecodeFromChars(payload, buffer, out _, out var written) != OperationStatus.Done
            || !Base64Url.EncodeToString(buffer.AsSpan(0, written)).AsSpan().SequenceEqual(payload))
        {
            throw new RmException(RmError.NotASuccessorInvitation, "The successor invitation's payload is not canonical base64url.");
        }

        return Invitation.Decode(buffer.AsSpan(0, written), now);
    }
}
