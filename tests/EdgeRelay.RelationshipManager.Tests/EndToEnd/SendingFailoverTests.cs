using EdgeRelay.Protocol;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Several sending services: the RM sends through one that works, and follows what each announces.</summary>
public sealed class SendingFailoverTests
{
    [Fact]
    public async Task When_a_sending_service_stops_mid_conversation_the_next_one_carries_the_messages_with_none_lost_or_doubled()
    {
        await using var home = await LoopbackRelay.StartAsync();
        await using var first = await LoopbackRelay.StartAsync();
        await using var second = await LoopbackRelay.StartAsync();
        await using var bobRelay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", home);
        await using var bob = await Person.InitializeAsync("bob", bobRelay);
        // Two sending services for alice (the first also receives for her), two receiving services each.
        await alice.Rm.AddServiceAsync(first.Endpoint, ServiceUse.Sending | ServiceUse.Receiving, sendingToken: Traffic.Token(first, "alice"));
        await alice.Rm.AddServiceAsync(second.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(second, "alice"));
        await bob.Rm.AddServiceAsync(second.Endpoint, ServiceUse.Receiving);
        await Traffic.IntroduceAsync(alice, bob);

        var expected = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            expected.Add($"through the first {i}");
            Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), expected[^1])).Status);
        }

        // The first service took them (the second, tried only after it, has forwarded nothing yet).
        Assert.Equal(0, second.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages + ForwardedBy(second));
        await first.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            expected.Add($"through the second {i}");
            Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), expected[^1])).Status);
        }

        await Eventually.TrueAsync(
            async () =>
            {
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").Count >= 3;
            },
            "bob to receive what the second service forwarded");
        await first.StartAgainAsync(); // what it had queued before it stopped is forwarded after its restart
        await Eventually.TrueAsync(
            async () =>
            {
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").Count >= expected.Count;
            },
            "bob to receive every message");

        Assert.Equal(expected.Order(), Traffic.Received(bob, "alice").Order());

        // Bob's answers reach alice on her other receiving service while the first one is down again.
        await first.StopAsync();
        await bob.Rm.SendAsync(bob.Contact("alice"), "answered");
        Assert.Contains((await alice.Rm.ReceiveAsync()).OfType<MessageReceived>(), m => m.Text == "answered");
        Assert.Equal(["answered"], Traffic.Received(alice, "bob"));
        await first.StartAgainAsync();
        var services = await alice.Rm.GetServicesAsync();
        Assert.Equal([home.Endpoint, first.Endpoint, second.Endpoint], services.Select(s => s.Endpoint));
        Assert.NotNull(services[1].LastError); // the stopped one is remembered as failed: tried after the others
    }

    [Fact]
    public async Task A_lower_size_limit_announced_by_CONFIG_moves_sending_to_another_service_without_a_restart()
    {
        await using var home = await LoopbackRelay.StartAsync();
        await using var first = await LoopbackRelay.StartAsync();
        await using var second = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", home);
        await using var bob = await Person.InitializeAsync("bob", home);
        await alice.Rm.AddServiceAsync(first.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(first, "alice"));
        await alice.Rm.AddServiceAsync(second.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(second, "alice"));
        await Traffic.IntroduceAsync(alice, bob);
        await alice.Rm.SendAsync(alice.Contact("bob"), "small enough for the first");
        await Eventually.TrueAsync(() => ForwardedBy(first) >= 1, "the first service to forward");
        var forwardedBySecond = ForwardedBy(second);

        // Its operator lowers the limit below the smallest envelope: the RM learns it from the CONFIG push.
        Assert.Equal(["Sending:MaxCiphertextBytes"], first.Reconfigure(o => o.Sending.MaxCiphertextBytes = 200).Applied);
        await Eventually.TrueAsync(
            async () => (await alice.Rm.GetServicesAsync(probe: true))[1].Status?.MaxSendViaCiphertext == 200,
            "alice's RM to learn the first service's new limit");
        Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), "too large for the first now")).Status);
        await Eventually.TrueAsync(() => ForwardedBy(second) > forwardedBySecond, "the second service to forward it");
        await Eventually.TrueAsync(
            async () =>
            {
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").Count == 2;
            },
            "bob to receive both");
        Assert.Null((await alice.Rm.GetServicesAsync())[1].LastError); // passed over, not failed
    }

    [Fact]
    public async Task Batched_sending_falls_back_to_immediate_when_the_service_stops_offering_it()
    {
        await using var home = await LoopbackRelay.StartAsync();
        await using var sender = await LoopbackRelay.StartAsync(o => o.Sending.BatchedDelay = TimeSpan.FromSeconds(1));
        await using var alice = await Person.InitializeAsync("alice", home);
        await using var bob = await Person.InitializeAsync("bob", home);
        await alice.Rm.AddServiceAsync(sender.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(sender, "alice"), sendingMode: SendingMode.Batched);
        await Traffic.IntroduceAsync(alice, bob);

        Assert.Equal(["Sending:BatchedDelay"], sender.Reconfigure(o => o.Sending.BatchedDelay = TimeSpan.Zero).Applied);
        await Eventually.TrueAsync(
            async () => (await alice.Rm.GetServicesAsync(probe: true))[1].Status?.SendingOptions.All(o => o.Mode != SendingMode.Batched) == true,
            "alice's RM to learn that batching is off");

        // A batched SEND_VIA would now be refused (MODE_UNAVAILABLE) and the message left queued.
        Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), "sent at once")).Status);
        await Eventually.TrueAsync(
            async () =>
            {
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").SequenceEqual(["sent at once"]);
            },
            "bob to receive it");
    }

    private static long ForwardedBy(LoopbackRelay relay) => relay.Host.Server.Forwarding.Engine.Forwarded;
}
