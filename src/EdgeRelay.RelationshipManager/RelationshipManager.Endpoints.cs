using EdgeRelay.Addressing;
using EdgeRelay.Client;

namespace EdgeRelay.RelationshipManager;

/// <summary>
/// Services on several nodes: a card may name several endpoints of one service (its main one, then alternatives),
/// and a service of ours may be reached at any of its nodes.
/// </summary>
public sealed partial class RelationshipManager
{
    /// <summary>
    /// Tells the connections, before any is opened, the other nodes of each of our services as its newest card of
    /// ours names them: a service whose recorded endpoint is down at start is still reached. Its HELLO updates them
    /// once a connection is up.
    /// </summary>
    private void LearnServiceEndpoints()
    {
        foreach (var service in _database.GetServices())
        {
            var addresses = _database.GetAddressesOn(service.Id);
            if (addresses.Count > 0 && AddressCard.TryDecode(addresses[^1].Card, out var card, out _) && card.AlternativeEndpoints.Count > 0)
            {
                _connections.Learn(service.Endpoint, card.Endpoints);
            }
        }
    }

    /// <summary>
    /// Where an envelope can go, in the order to try: each card once per endpoint it names (its main endpoint, then
    /// each alternative, <see cref="AddressCard.StartingAt"/>), card after card. A sending service forwards to the one
    /// endpoint SEND_VIA names and keeps retrying it while that node is down; the outbox's index into this list moves
    /// on after <see cref="RelationshipManagerOptions.SendingPatience"/>, so the next try names the next node of the
    /// same service before the contact's next card. Without alternatives it is the list of cards, as before.
    /// </summary>
    private static List<AddressCard> Routes(List<AddressCard> cards)
    {
        var routes = new List<AddressCard>(cards.Count);
        foreach (var card in cards)
        {
            foreach (var endpoint in card.Endpoints)
            {
                routes.Add(card.StartingAt(endpoint));
            }
        }

        return routes;
    }

    /// <summary>
    /// Sends an envelope straight to the contact's relays, route by route (<see cref="Routes"/>), until one stores it.
    /// A card whose service answered (a refusal, not an unreachable node) is not asked again at its other nodes: they
    /// share one store and would answer the same. When no route takes it, the last failure is thrown.
    /// </summary>
    private async Task SendDirectlyAsync(List<AddressCard> routes, byte[] envelope, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var answered = new HashSet<AddressId>();
        foreach (var card in routes)
        {
            if (answered.Contains(card.Aid))
            {
                continue;
            }

            try
            {
                await _connections.RunAsync(
                    card.Endpoint,
                    _connections.ForCard(card),
                    async client =>
                    {
                        await client.SendAsync(card, envelope, EphemeralValidity, cancellationToken);
                        return true;
                    },
                    cancellationToken);
                return;
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                failure = e;
                if (!RelayClient.IsUnreachable(e))
                {
                    answered.Add(card.Aid);
                }
            }
        }

        throw failure!;
    }
}
