using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Creates an invitation: our identity, a one-time key and secret, and a card for an address of its own
    /// (so that an unused invitation costs nothing and each relationship has its own address). Hand the
    /// text (or its QR code) to one person; when they accept, their RM introduces itself through the relay
    /// and the relationship appears here as a <see cref="ContactEstablished"/> event.
    /// </summary>
    /// <returns>The invitation's text form, <c>edgerelay-invite1:…</c>.</returns>
    public Task<string> CreateInvitationAsync(CancellationToken cancellationToken = default) =>
        SerialisedAsync(async () => (await IssueInvitationAsync(successor: false, cancellationToken)).ToString(), cancellationToken);

    /// <summary>
    /// Accepts someone's invitation: checks it, creates an address of ours for this relationship on each
    /// receiving service, and sends our introduction to their card. The contact can be written to at once; it
    /// becomes <see cref="RelationshipState.Established"/> when their first message arrives.
    /// </summary>
    /// <exception cref="InvitationException">The text is not a valid, unexpired invitation.</exception>
    /// <exception cref="RmException">Our own invitation, or someone who is already a contact.</exception>
    public Task<Contact> AcceptInvitationAsync(string invitationText, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                var invitation = Invitation.Parse(invitationText, Time.GetUtcNow());
                if (invitation.Inviter.Equals(Identity))
                {
                    throw new RmException(RmError.OwnInvitation, "This invitation is your own: give it to the person you want to reach.");
                }

                if (_database.GetRelationships().Any(r => r.Identity.Equals(invitation.Inviter) && r.State is not (RelationshipState.TerminatedByUs or RelationshipState.TerminatedByThem)))
                {
                    throw new RmException(RmError.AlreadyAContact, $"{invitation.Name} is already a contact.");
                }

                var id = await AcceptUnderGateAsync(invitation, invitation.Name, _ => true, cancellationToken);
                await FlushOutboxAsync(cancellationToken);
                return ToContact(_database.GetRelationship(id!.Value)!);
            },
            cancellationToken);

    /// <summary>
    /// Under the gate the caller holds: an invitation on an unused address, recorded with its secrets sealed;
    /// a <paramref name="successor"/> one is marked so that several correspondents may accept it.
    /// </summary>
    private async Task<Invitation> IssueInvitationAsync(bool successor, CancellationToken cancellationToken)
    {
        var address = await TakeUnusedAddressAsync(cancellationToken);
        var now = Time.GetUtcNow();
        var expires = Min(now + _options.InvitationLifetime, address.ExpiresAt);
        var invitation = Invitation.Create(_keys.Identity, Name, Card(address.Card), expires, out var secrets);
        using (secrets)
        {
            var id = invitation.Id.ToArray();
            using var writer = _database.BeginWrite();
            writer.AddInvitation(new InvitationRecord(id, address.Aid, secrets.Seal(_keys.StateSealer, Sealing.InvitationSecrets(id)), now, expires, null));
            if (successor)
            {
                writer.AddSuccessorInvitation(id);
            }

            writer.SetAddressState(address.Aid, OwnAddressState.Invitation);
            writer.Commit();
        }

        return invitation;
    }

    /// <summary>
    /// Under the gate the caller holds: an address on each receiving service we can reach (so that the
    /// relationship survives the loss of one), our introduction sealed to the inviter, and the relationship
    /// (named <paramref name="name"/>) with the introduction in its outbox, in one transaction.
    /// <paramref name="inTransaction"/> runs first inside it, for the caller's own writes and checks: false
    /// commits those alone and makes no relationship (null).
    /// </summary>
    private async Task<long?> AcceptUnderGateAsync(Invitation invitation, string name, Func<RmWriter, bool> inTransaction, CancellationToken cancellationToken)
    {
        var addresses = await CreateAddressesAsync(ActiveReceivingServices(), firstOnly: false, cancellationToken);
        var sealedIntroduction = _suite.SealIntroduction(_keys.Identity, invitation.Inviter, invitation.Id, invitation.InvitationKey, invitation.Secret, Name, [.. addresses.Select(a => Card(a.Card))]);
        using var ratchet = sealedIntroduction.State;
        var now = Time.GetUtcNow();
        using var writer = _database.BeginWrite();
        if (!inTransaction(writer))
        {
            writer.Commit(); // the addresses made stay unused, for the next invitation
            return null;
        }

        var state = NameClash(_database.GetRelationships(), name, invitation.Inviter) is null ? RelationshipState.AwaitingReply : RelationshipState.KeyChangePending;
        var record = new RelationshipRecord(0, name, invitation.Inviter, Verified: false, state, addresses[0].Aid, SealRatchet(ratchet, invitation.Inviter), DeliveryPolicy.Immediate, ReadReceipts: false, now);
        var id = writer.AddRelationship(record, now);
        writer.SetTheirCards(id, [TheirCard(0, invitation.Card)]);
        foreach (var ours in addresses)
        {
            writer.SetAddressState(ours.Aid, OwnAddressState.Relationship);
            writer.AddOurCard(id, ours.Aid, now);
        }

        writer.AddOutbox(id, sealedIntroduction.Bytes.ToArray(), invitation.Card.ToArray(), sealedIntroduction.Command.Id.ToArray(), now);
        writer.Commit();
        return id;
    }

    // A card may claim any expiry up to 2^63 s; what DateTimeOffset cannot hold is as good as never.
    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    private static TheirCardRecord TheirCard(int position, AddressCard card) =>
        new(position, card.Aid, card.ToArray(), DateTimeOffset.FromUnixTimeSeconds(Math.Min(card.ExpiresAtUnixSeconds, MaxUnixSeconds)));

    /// <summary>A live contact with this name but another identity: the case a key change must not pass silently.</summary>
    private static RelationshipRecord? NameClash(IEnumerable<RelationshipRecord> relationships, string name, PublicIdentity identity) =>
        relationships.FirstOrDefault(r =>
            string.Equals(r.Name, name, StringComparison.Ordinal)
            && !r.Identity.Equals(identity)
            && r.State is RelationshipState.Established or RelationshipState.AwaitingReply);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
