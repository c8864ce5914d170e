using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Nats;

namespace EdgeRelay.Server.Tests.Cluster;

/// <summary>
/// A node's cards name the other node of its service (Relay:AlternativeEndpoints): with the issuing node gone, a
/// sender holding only the card reaches the other, and so does the owner.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterEndpointsTests(NatsClusterFixture fixture) : IClassFixture<NatsClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [SkippableFact]
    public async Task With_the_issuing_node_down_a_card_still_reaches_the_service_through_its_alternative_endpoint()
    {
        var cluster = fixture.Get();
        using var dir = new TempDirectory();
        var prefix = NatsClusterFixture.NewPrefix();
        await using var b = await ClusterNodeTests.StartNodeAsync(cluster, prefix, dir);
        var a = await TestRelay.StartAsync(options =>
        {
            options.Storage.Backend = "jetstream";
            options.Storage.JetStream.Url = cluster.Url;
            options.Storage.JetStream.StreamPrefix = prefix;
            options.Storage.JetStream.Replicas = 3;
            options.Relay.ServiceKeyFile = dir.Combine("service.key");
            options.Relay.AlternativeEndpoints = [b.Endpoint];
        });
        using var owner = new Owner();
        Addressing.AddressCard card;
        try
        {
            await using var rm = await a.ConnectAsync();
            card = (await owner.CreateAddressAsync(rm)).Card;
            Assert.Equal([a.Endpoint, b.Endpoint], card.Endpoints);
            await Eventually.TrueAsync(() => b.Host.Server.Storage.TryGetAddress(card.Aid, out _), "node B to know the address created on node A", Patience);
        }
        finally
        {
            await a.DisposeAsync(); // node A is gone from here on
        }

        await using (var sender = await RelayClient.ConnectAnyAsync(card.Endpoints, RelayClientOptions.ForCard(card)))
        {
            await sender.SendAsync(card, Encoding.UTF8.GetBytes("while A is down"));
        }

        await using var ownerClient = await RelayClient.ConnectAnyAsync(card.Endpoints, RelayClientOptions.ForCard(card));
        await ownerClient.AuthenticateAsync(card.Aid, owner.Key);
        var pulled = await ownerClient.PullAsync(card.Aid);
        Assert.Equal("while A is down", Encoding.UTF8.GetString(Assert.Single(pulled.Messages).Ciphertext.Span));
    }
}
