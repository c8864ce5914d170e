using EdgeRelay.Testing.Faults;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// Bob's service runs on two nodes, played by one relay reached two ways: through a proxy (the card endpoint, the
/// node that goes down) and directly (its alternative endpoint). His cards name both, in that order, and his RM
/// records the service under the proxy's endpoint.
/// </summary>
public sealed class SeveralNodesTests : IAsyncLifetime
{
    private LoopbackRelay _bobRelay = null!;
    private FaultProxy _firstNode = null!;

    public async Task InitializeAsync()
    {
        string? proxied = null;
        string? direct = null;
        _bobRelay = await LoopbackRelay.StartAsync(o =>
        {
            if (proxied is not null)
            {
                o.Relay.PublicEndpoint = proxied;
                o.Relay.AlternativeEndpoints = [direct!];
            }
        });
        _firstNode = FaultProxy.Start(_bobRelay.SocketEndPoint);
        (proxied, direct) = (_firstNode.HostAndPort, _bobRelay.Endpoint);
        await _bobRelay.RestartAsync();
    }

    public async Task DisposeAsync()
    {
        await _firstNode.DisposeAsync();
        await _bobRelay.DisposeAsync();
    }

    [Fact]
    public async Task Direct_sends_and_the_owners_own_connections_reach_the_service_while_its_first_node_is_down()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", aliceRelay);
        await using var bob = await Person.InitializeAsync("bob", _bobRelay, endpoint: _firstNode.HostAndPort);
        await Traffic.IntroduceAsync(alice, bob);

        // The node goes down, and with it every connection through it.
        _firstNode.Refuse();
        _firstNode.ResetAll();
        Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), "while the first node is down")).Status);
        await Traffic.SettleAsync(alice, bob);
        Assert.Equal(["while the first node is down"], Traffic.Received(bob, "alice"));

        // Restarted, bob's RM has learned nothing yet in memory: his newest card names the other node.
        await bob.ReopenAsync();
        await alice.Rm.SendAsync(alice.Contact("bob"), "after bob restarted");
        await Traffic.SettleAsync(alice, bob);
        Assert.Equal(["while the first node is down", "after bob restarted"], Traffic.Received(bob, "alice"));
        Assert.Equal(0, _firstNode.Counters.Open);
    }

    [Fact]
    public async Task Through_a_sending_service_a_message_waiting_for_the_first_node_is_sent_again_naming_the_next()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var sending = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", aliceRelay, configure: Impatient);
        await alice.Rm.AddServiceAsync(sending.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(sending, "alice"));
        await using var bob = await Person.InitializeAsync("bob", _bobRelay);
        await Traffic.IntroduceAsync(alice, bob);
        _firstNode.Refuse();
        _firstNode.ResetAll();

        // The sending service keeps retrying the node SEND_VIA named; alice, out of patience, names the next.
        await alice.Rm.SendAsync(alice.Contact("bob"), "forwarded to the second node");
        await Eventually.TrueAsync(
            async () =>
            {
                await alice.Rm.RetryQueuedAsync();
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").Contains("forwarded to the second node");
            },
            "bob to receive what the sending service forwarded to his second node");
    }

    /// <summary>A sender that does not wait for a sending service before trying the next route.</summary>
    private static RelationshipManagerOptions Impatient(RelationshipManagerOptions o) => new()
    {
        Home = o.Home,
        Time = o.Time,
        KeyStore = o.KeyStore,
        AddressRescanInterval = o.AddressRescanInterval,
        Client = o.Client,
        SendingPatience = TimeSpan.Zero,
    };
}
