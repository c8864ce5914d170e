using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    // How often the cards of every relationship are looked over when nothing asks for it sooner: rotation is
    // measured in days, and each look reads every relationship.
    private static readonly TimeSpan MaintenanceInterval = TimeSpan.FromHours(1);

    private DateTimeOffset? _maintainedAt;

    /// <summary>
    /// Keeps each working relationship's cards current, after processing and from a following inbox: answers
    /// refresh requests at once, and otherwise looks at most once per <see cref="MaintenanceInterval"/>
    /// (sooner after a relationship began or a service changed, which clear <see cref="_maintainedAt"/>).
    /// </summary>
    /// <returns>Whether it looked (and so may have sealed updates to send).</returns>
    private async Task<bool> MaintainAddressesIfDueAsync(CancellationToken cancellationToken)
    {
        var asked = _database.GetRelationshipsAskingRefresh();
        var now = Time.GetUtcNow();
        if (asked.Count == 0 && _maintainedAt is { } at && now - at < MaintenanceInterval)
        {
            return false;
        }

        await MaintainAddressesAsync([.. asked], cancellationToken);
        _maintainedAt = now;
        return true;
    }

    /// <summary>
    /// For every working relationship: an announced address on each active receiving service, none within
    /// <see cref="RelationshipManagerOptions.RotateBefore"/> of its expiry, none on a sunset service. A fresh
    /// address replaces a due one on the same service (rotation); addresses on a sunset service are replaced by
    /// those on the others. What changed is announced to the contact in one update (the whole list, in service
    /// order), sealed in the same transaction as the change. A replaced address is no longer announced but is
    /// still collected until it expires, so nothing already on its way to it is lost; it is not renewed.
    /// </summary>
    /// <param name="refreshAsked">Relationships whose contact asked for fresh cards: announced even if nothing was due by our clock.</param>
    private async Task MaintainAddressesAsync(HashSet<long> refreshAsked, CancellationToken cancellationToken)
    {
        var services = _database.GetServices();
        var active = services.Where(s => s.IsActiveReceiving).ToList();
        foreach (var listed in _database.GetRelationships())
        {
            if (listed.State is not (RelationshipState.Established or RelationshipState.AwaitingReply))
            {
                if (refreshAsked.Contains(listed.Id))
                {
                    using var clear = _database.BeginWrite();
                    clear.SetRefreshAsked(listed.Id, null);
                    clear.Commit();
                }

                continue;
            }

            var asked = refreshAsked.Contains(listed.Id);
            var now = Time.GetUtcNow();
            // A contact that asked sees our cards as close to expiry by its own threshold: honour the larger one.
            var threshold = asked && _options.RefreshBefore > RotateBefore ? _options.RefreshBefore : RotateBefore;
            var announced = _database.GetOurCards(listed.Id).Where(c => c.ReplacedAt is null).ToList();
            var keep = announced.Where(c => active.Any(s => s.Id == c.Address.ServiceId) && c.Address.ExpiresAt - now >= threshold).ToList();
            var fresh = new List<OwnAddressRecord>();
            var failed = false;
            foreach (var service in active.Where(s => !keep.Any(c => c.Address.ServiceId == s.Id)))
            {
                try
                {
                    var address = await CreateAddressAsync(OwnAddressState.Unused, service, cancellationToken);
                    if (listed.Policy != DeliveryPolicy.Immediate)
                    {
                        await SetAddressPolicyAsync(address, listed.Policy, cancellationToken); // a relay starts every address immediate
                    }

                    fresh.Add(address);
                }
                catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
                {
                    // Tried again at the next look; meanwhile the due address stays announced: it still works.
                    _connections.HealthOf(service.Endpoint).Failed(e.Message, now);
                    failed = true;
                }
            }

            // Replaced: what is on a service no longer active, and what is due where a fresh one now stands.
            var replaced = announced.Where(c => !keep.Contains(c)
                && (!active.Any(s => s.Id == c.Address.ServiceId) || fresh.Any(f => f.ServiceId == c.Address.ServiceId))).ToList();
            if (keep.Count + fresh.Count == 0)
            {
                replaced.Clear(); // never leave a relationship with no announced address
            }

            if (fresh.Count == 0 && replaced.Count == 0 && (!asked || failed))
            {
                continue;
            }

            using var writer = _database.BeginWrite();
            // Read again in the transaction: another process sharing the home may have moved the ratchet or ended it.
            var relationship = _database.GetRelationship(listed.Id)!;
            if (relationship.State is not (RelationshipState.Established or RelationshipState.AwaitingReply))
            {
                continue; // the fresh addresses stay unused, for the next invitation
            }

            foreach (var address in fresh)
            {
                writer.SetAddressState(address.Aid, OwnAddressState.Relationship);
                writer.AddOurCard(relationship.Id, address.Aid, now);
            }

            foreach (var card in replaced)
            {
                writer.ReplaceOurCard(relationship.Id, card.Address.Aid, now);
            }

            var cards = _database.GetOurCards(relationship.Id).Where(c => c.ReplacedAt is null).Select(c => Card(c.Address.Card)).ToList();
            Seal(writer, ref relationship, new Update(Cards: cards), now);
            if (asked)
            {
                writer.SetRefreshAsked(relationship.Id, null);
            }

            writer.Commit();
        }
    }

    private TimeSpan RotateBefore => _options.RotateBefore ?? _options.AddressLifetime / 3;
}
