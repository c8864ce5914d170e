using EdgeRelay.Server.Access;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>An RM with a sending service hands its envelopes to it (SEND_VIA), which forwards them to the recipient's relay.</summary>
public sealed class SendingServiceTests
{
    [Fact]
    public async Task Messages_go_through_the_sending_service_that_the_token_opens()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var bobRelay = await LoopbackRelay.StartAsync();
        var token = aliceRelay.Host.Server.Tokens.Create("alice", TokenRole.Rm);
        await using var alice = await Person.InitializeAsync("alice", aliceRelay, sendingToken: token.Secret);
        await using var bob = await Person.InitializeAsync("bob", bobRelay);
        // Alice's introduction goes through her relay, which forwards it on its own time: bob waits for it.
        await alice.Rm.AcceptInvitationAsync(await bob.Rm.CreateInvitationAsync());
        await Eventually.TrueAsync(
            async () => (await bob.Rm.ReceiveAsync()).OfType<ContactEstablished>().Any(c => c.Contact.Name == "alice"),
            "bob to receive the introduction alice's relay forwarded");
        Assert.IsType<ContactEstablished>(Assert.Single(await alice.Rm.ReceiveAsync())); // bob's receipt, sent directly

        var sent = await alice.Rm.SendAsync(alice.Contact("bob"), "forwarded by my relay");
        Assert.Equal(MessageStatus.Sent, sent.Status);
        await Eventually.TrueAsync(
            async () => (await bob.Rm.ReceiveAsync()).OfType<MessageReceived>().Any(m => m.Text == "forwarded by my relay"),
            "bob to receive what alice's relay forwarded");

        // Without a valid token the sending service refuses: the message stays queued, which a direct send (bob's
        // relay is up) would not have done. So the envelopes did go through the sending service.
        Assert.True(aliceRelay.Host.Server.Tokens.Revoke(token.Token.Id));
        var refused = await alice.Rm.SendAsync(alice.Contact("bob"), "no token, no sending");
        Assert.Equal(MessageStatus.Queued, refused.Status);
    }
}
