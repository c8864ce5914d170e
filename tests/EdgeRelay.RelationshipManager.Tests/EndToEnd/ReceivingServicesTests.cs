using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Several receiving services: every relationship has an address on each, and one can be retired without losing a message.</summary>
public sealed class ReceivingServicesTests
{
    [Fact]
    public async Task A_sender_tries_the_recipients_addresses_in_the_order_announced()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var preferred = await LoopbackRelay.StartAsync();
        await using var spare = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", aliceRelay);
        await using var bob = await Person.InitializeAsync("bob", preferred);
        await bob.Rm.AddServiceAsync(spare.Endpoint, ServiceUse.Receiving);
        await Traffic.IntroduceAsync(alice, bob);

        // Both up: it goes to bob's first address, so the spare relay alone does not have it.
        await alice.Rm.SendAsync(alice.Contact("bob"), "to the preferred relay");
        await preferred.StopAsync();
        var events = await bob.Rm.ReceiveAsync();
        Assert.Contains(events, e => e is ConnectionChanged { Connected: false } c && c.Endpoint == preferred.Endpoint);
        Assert.DoesNotContain(events, e => e is MessageReceived);

        // The preferred one down: the next message takes the spare address.
        Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), "to the spare relay")).Status);
        Assert.Equal("to the spare relay", Assert.Single((await bob.Rm.ReceiveAsync()).OfType<MessageReceived>()).Text);

        await preferred.StartAgainAsync();
        await Traffic.SettleAsync(alice, bob);
        Assert.Equal(["to the spare relay", "to the preferred relay"], Traffic.Received(bob, "alice"));
    }

    [Fact]
    public async Task Through_a_sending_service_a_message_kept_waiting_by_the_recipients_first_relay_goes_to_the_next_and_is_shown_once()
    {
        // Alice's clock is fake (her patience runs on it); the relays forward on real time.
        var aliceTime = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var sender = await LoopbackRelay.StartAsync(o => o.Forwarding.MaxBackoff = TimeSpan.FromSeconds(1));
        await using var preferred = await LoopbackRelay.StartAsync();
        await using var spare = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", aliceRelay, aliceTime);
        await using var bob = await Person.InitializeAsync("bob", preferred);
        await alice.Rm.AddServiceAsync(sender.Endpoint, ServiceUse.Sending, sendingToken: Traffic.Token(sender, "alice"));
        await bob.Rm.AddServiceAsync(spare.Endpoint, ServiceUse.Receiving);
        await Traffic.IntroduceAsync(alice, bob);
        await Eventually.TrueAsync(async () => await alice.Rm.RetryQueuedAsync() == 0 && Handed(alice) == 0, "the introduction's traffic to settle");

        await preferred.StopAsync();
        Assert.Equal(MessageStatus.Sent, (await alice.Rm.SendAsync(alice.Contact("bob"), "around the outage")).Status);
        Assert.Equal(1, Handed(alice)); // the sending service holds it, retrying bob's preferred relay
        await alice.Rm.RetryQueuedAsync();
        Assert.Empty(Traffic.Received(bob, "alice"));

        // Past alice's patience the same envelope goes to bob's next card, through the sending service again.
        aliceTime.Advance(TimeSpan.FromMinutes(3));
        await alice.Rm.RetryQueuedAsync();
        await Eventually.TrueAsync(
            async () =>
            {
                await bob.Rm.ReceiveAsync();
                return Traffic.Received(bob, "alice").Count == 1;
            },
            "bob to receive the copy sent to his spare relay");

        // The first copy reaches the preferred relay when it is back (the service reports both stored, and alice
        // forgets them); bob drops it as the replay it is.
        await preferred.StartAgainAsync();
        await Eventually.TrueAsync(async () => await alice.Rm.RetryQueuedAsync() == 0 && Handed(alice) == 0, "alice to learn both copies were stored");
        await Traffic.SettleAsync(bob);
        Assert.Equal(["around the outage"], Traffic.Received(bob, "alice"));
    }

    [Fact]
    public async Task A_sunset_service_keeps_collecting_until_its_last_address_expires_and_nothing_in_flight_is_lost()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var old = await LoopbackRelay.StartAsync(time: time);
        await using var next = await LoopbackRelay.StartAsync(time: time);
        await using var bobRelay = await LoopbackRelay.StartAsync(time: time);
        await using var alice = await Person.InitializeAsync("alice", old, time);
        await using var bob = await Person.InitializeAsync("bob", bobRelay, time);
        await alice.Rm.AddServiceAsync(next.Endpoint, ServiceUse.Receiving);
        await Traffic.IntroduceAsync(alice, bob);
        await alice.Rm.SendAsync(alice.Contact("bob"), "hello");
        await Traffic.SettleAsync(alice, bob);

        // In flight across the cut-over: one sent before the sunset, one after it but before bob hears of it.
        await bob.Rm.SendAsync(bob.Contact("alice"), "sent before the sunset");
        var sunset = await alice.Rm.SunsetServiceAsync(old.Endpoint);
        Assert.Equal(ServiceState.Sunsetting, sunset.State);
        Assert.NotNull(sunset.CollectUntil);
        await bob.Rm.SendAsync(bob.Contact("alice"), "sent during the cut-over");
        await Traffic.SettleAsync(alice, bob);
        Assert.Equal(["sent before the sunset", "sent during the cut-over"], Traffic.Received(alice, "bob"));

        // Bob has alice's new cards: with the old relay down, his next message still arrives.
        await old.StopAsync();
        await bob.Rm.SendAsync(bob.Contact("alice"), "sent after the cut-over");
        Assert.Contains((await alice.Rm.ReceiveAsync()).OfType<MessageReceived>(), m => m.Text == "sent after the cut-over");
        await old.StartAgainAsync();

        var refused = await Assert.ThrowsAsync<RmException>(() => alice.Rm.RemoveServiceAsync(old.Endpoint));
        Assert.Equal(RmError.ServiceInUse, refused.Error);

        // Days pass with the conversation going on; once the last address issued there expires, it can go.
        var expected = new List<string> { "sent before the sunset", "sent during the cut-over", "sent after the cut-over" };
        while (time.GetUtcNow() <= sunset.CollectUntil)
        {
            time.Advance(TimeSpan.FromDays(4));
            expected.Add($"day {(time.GetUtcNow() - sunset.SunsetAt!.Value).TotalDays:0}");
            await bob.Rm.SendAsync(bob.Contact("alice"), expected[^1]);
            await Traffic.SettleAsync(alice, bob);
        }

        var services = await alice.Rm.GetServicesAsync();
        Assert.Equal(ServiceState.ReadyToDrop, services.Single(s => s.Endpoint == old.Endpoint).State);
        await alice.Rm.RemoveServiceAsync(old.Endpoint);
        Assert.Equal([next.Endpoint], (await alice.Rm.GetServicesAsync()).Select(s => s.Endpoint));
        await ConversationTests.Exchange(bob, alice, "after the old relay was dropped");

        expected.Add("after the old relay was dropped");
        Assert.Equal(expected, Traffic.Received(alice, "bob")); // every one, once, in order
    }

    [Fact]
    public async Task Refusals_of_service_changes_have_stable_codes()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);

        async Task<RmError> Refused(Func<Task> change) => (await Assert.ThrowsAsync<RmException>(change)).Error;
        Assert.Equal(RmError.UnknownService, await Refused(() => alice.Rm.SunsetServiceAsync("127.0.0.1:1")));
        Assert.Equal(RmError.UnknownService, await Refused(() => alice.Rm.RemoveServiceAsync("127.0.0.1:1")));
        Assert.Equal(RmError.LastReceivingService, await Refused(() => alice.Rm.SunsetServiceAsync(relay.Endpoint)));
        Assert.Equal(RmError.InvalidService, await Refused(() => alice.Rm.AddServiceAsync("no port", ServiceUse.Receiving)));
        Assert.Equal(RmError.InvalidService, await Refused(() => alice.Rm.AddServiceAsync(relay.Endpoint, ServiceUse.Sending)));
        Assert.Equal(RmError.InvalidService, await Refused(() => alice.Rm.AddServiceAsync(relay.Endpoint, ServiceUse.Sending, sendingToken: "not a token")));
        Assert.Equal(RmError.InvalidService, await Refused(() => alice.Rm.AddServiceAsync(relay.Endpoint, ServiceUse.Receiving, pin: new byte[5])));
        Assert.Equal(RmError.ServiceUnavailable, await Refused(() => alice.Rm.AddServiceAsync(UnusedEndpoint(), ServiceUse.Receiving)));

        // The only receiving service with an address handed out: neither removable nor to be sunset.
        await alice.Rm.CreateInvitationAsync();
        Assert.Equal(RmError.ServiceInUse, await Refused(() => alice.Rm.RemoveServiceAsync(relay.Endpoint)));
        Assert.Single(await alice.Rm.GetServicesAsync());
    }

    private static string UnusedEndpoint()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return listener.LocalEndpoint.ToString()!;
    }

    private static int Handed(Person person)
    {
        using var state = EdgeRelay.RelationshipManager.State.RmDatabase.Open(person.Options.DatabasePath);
        return state.GetOutbox().Count(e => e.HandedTo is not null);
    }
}
