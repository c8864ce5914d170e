using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>Changes our preferred name and tells every contact (an associated-data update).</summary>
    /// <exception cref="RmException"><see cref="RmError.InvalidName"/>.</exception>
    public Task SetNameAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckName(name);
        return SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var now = Time.GetUtcNow();
                    writer.SetProfileName(name);
                    foreach (var listed in _database.GetRelationships().Where(r => r.State is RelationshipState.Established or RelationshipState.AwaitingReply))
                    {
                        var relationship = listed;
                        Seal(writer, ref relationship, new Update(Name: name), now);
                    }

                    writer.Commit();
                }

                Name = name;
                return await FlushOutboxAsync(cancellationToken);
            },
            cancellationToken);
    }

    /// <summary>
    /// Asks the contact for fresh cards in place of those that expire within
    /// <see cref="RelationshipManagerOptions.RefreshBefore"/>, once per card, in the transaction of any command
    /// sealed to them (so the request travels with real traffic, receipts included, not on a timer of its own).
    /// </summary>
    private void RequestRefreshIfDue(RmWriter writer, ref RelationshipRecord relationship, DateTimeOffset now)
    {
        var due = _database.GetTheirCards(relationship.Id)
            .Where(c => c.RefreshRequestedAt is null && c.ExpiresAt - now < _options.RefreshBefore)
            .ToList();
        if (due.Count == 0)
        {
            return;
        }

        Seal(writer, ref relationship, new Update(Refresh: [.. due.Select(c => c.Aid)]), now);
        foreach (var card in due)
        {
            writer.MarkRefreshRequested(relationship.Id, card.Aid, now);
        }
    }

    /// <summary>
    /// Answers refresh requests: our address for that relationship is renewed at the relay (same address,
    /// later expiry) and the new card announced in an update. Rotation to a new address is the portability
    /// layer's; renewing keeps every message in flight deliverable. A request stays recorded until answered:
    /// one the relay cannot serve now is answered by a later call.
    /// </summary>
    private async Task AnswerRefreshRequestsAsync(CancellationToken cancellationToken)
    {
        foreach (var id in _database.GetRelationshipsAskingRefresh())
        {
            var relationship = _database.GetRelationship(id)!;
            var address = _database.GetAddress(relationship.OurAddress);
            if (address is null || relationship.State is not (RelationshipState.Established or RelationshipState.AwaitingReply))
            {
                using var clear = _database.BeginWrite();
                clear.SetRefreshAsked(id, null);
                clear.Commit();
                continue;
            }

            CreatedAddress renewed;
            try
            {
                var service = _database.GetService(address.ServiceId)!;
                renewed = await _connections.RunAsync(
                    service.Endpoint,
                    _connections.ForService(service.Pin),
                    async client =>
                    {
                        using var owner = OwnerKey(address);
                        await client.AuthenticateAsync(address.Aid, owner, cancellationToken);
                        return await client.RenewAddressAsync(address.Aid, _options.AddressLifetime, cancellationToken);
                    },
                    cancellationToken);
            }
            catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
            {
                continue; // still recorded: answered by a later receive
            }

            using var writer = _database.BeginWrite();
            var now = Time.GetUtcNow();
            var current = _database.GetRelationship(id)!; // read again in the transaction: its ratchet may have moved
            writer.RenewAddress(address.Aid, renewed.Card.ToArray(), renewed.ExpiresAt);
            Seal(writer, ref current, new Update(Cards: [renewed.Card]), now);
            writer.SetRefreshAsked(id, null);
            writer.Commit();
        }
    }
}
