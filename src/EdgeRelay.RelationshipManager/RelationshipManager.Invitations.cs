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
        SerialisedAsync(
            async () =>
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
                    writer.SetAddressState(address.Aid, OwnAddressState.Invitation);
                    writer.Commit();
                }

                return invitation.ToString();
            },
            cancellationToken);

    /// <summary>
    /// Accepts someone's invitation: checks it, creates an address of ours for this relationship, and sends
    /// our introduction to their card. The contact can be written to at once; it becomes
    /// <see cref="RelationshipState.Established"/> when their first message arrives.
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

                var relationships = _database.GetRelationships();
                if (relationships.Any(r => r.Identity.Equals(invitation.Inviter) && r.State is not (RelationshipState.TerminatedByUs or RelationshipState.TerminatedByThem)))
                {
                    throw new RmException(RmError.AlreadyAContact, $"{invitation.Name} is already a contact.");
                }

                // An address on each receiving service we can reach, so that the relationship survives the loss of one.
                var addresses = await CreateAddressesAsync(ActiveReceivingServices(), firstOnly: false, cancellationToken);
                var address = addresses[0];
                var sealedIntroduction = _suite.SealIntroduction(_keys.Identity, invitation.Inviter, invitation.Id, invitation.InvitationKey, invitation.Secret, Name, [.. addresses.Select(a => Card(a.Card))]);
                using (var ratchet = sealedIntroduction.State)
                {
                    var now = Time.GetUtcNow();
                    var state = NameClash(relationships, invitation.Name, invitation.Inviter) is null ? RelationshipState.AwaitingReply : RelationshipState.KeyChangePending;
                    var record = new RelationshipRecord(
                        0,
                        invitation.Name,
                        invitation.Inviter,
                        Verified: false,
                        state,
                        address.Aid,
                        SealRatchet(ratchet, invitation.Inviter),
                        DeliveryPolicy.Immediate,
                        ReadReceipts: false,
                        now);
                    long id;
                    using (var writer = _database.BeginWrite())
                    {
                        id = writer.AddRelationship(record, now);
                        writer.SetTheirCards(id, [TheirCard(0, invitation.Card)]);
                        foreach (var ours in addresses)
                        {
                            writer.SetAddressState(ours.Aid, OwnAddressState.Relationship);
                            writer.AddOurCard(id, ours.Aid, now);
                        }

                        writer.AddOutbox(id, sealedIntroduction.Bytes.ToArray(), invitation.Card.ToArray(), sealedIntroduction.Command.Id.ToArray(), now);
                        writer.Commit();
                    }

                    await FlushOutboxAsync(cancellationToken);
                    return ToContact(_database.GetRelationship(id)!);
                }
            },
            cancellationToken);

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
