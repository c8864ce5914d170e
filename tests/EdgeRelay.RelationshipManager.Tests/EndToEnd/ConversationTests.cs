namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Two people, one relay on loopback (or one relay each): the whole life of a relationship through the library's public API.</summary>
public sealed class ConversationTests
{
    [Fact]
    public async Task Invite_accept_verify_converse_with_receipts_and_terminate()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);

        await Introduce(alice, bob);
        await Converse(alice, bob);
        await Terminate(alice, bob);
    }

    [Fact]
    public async Task Two_people_on_two_relays_each_receiving_on_their_own()
    {
        await using var aliceRelay = await LoopbackRelay.StartAsync();
        await using var bobRelay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", aliceRelay);
        await using var bob = await Person.InitializeAsync("bob", bobRelay);

        await Introduce(alice, bob);
        await Converse(alice, bob);
    }

    [Fact]
    public async Task State_survives_closing_and_reopening_both_homes()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await Introduce(alice, bob);

        await alice.ReopenAsync();
        await bob.ReopenAsync();

        await Converse(alice, bob);
    }

    [Fact]
    public async Task A_message_stored_but_not_yet_read_is_listed_until_marked_read()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await Introduce(alice, bob);
        await bob.Rm.SendAsync(bob.Contact("alice"), "show me after a crash");
        await alice.Rm.ReceiveAsync(); // stored; the app died before showing it

        await alice.ReopenAsync();
        var unread = Assert.Single(alice.Rm.GetUnreadMessages());
        Assert.Equal("show me after a crash", unread.Text);
        await alice.Rm.MarkReadAsync(unread.Contact, [unread.Id]);

        Assert.Empty(alice.Rm.GetUnreadMessages());
    }

    [Fact]
    public async Task A_message_whose_showing_began_and_was_never_marked_read_is_listed_again_as_a_possible_repeat()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await Introduce(alice, bob);
        await bob.Rm.SendAsync(bob.Contact("alice"), "shown, then the app died");
        await bob.Rm.SendAsync(bob.Contact("alice"), "stored, never shown");
        var received = (await alice.Rm.ReceiveAsync()).OfType<MessageReceived>().ToList();
        Assert.Equal(2, received.Count);
        Assert.All(received, m => Assert.False(m.MayRepeat));

        // The app began showing the first (perhaps showed it) and died before marking it read.
        await alice.Rm.BeginShowingAsync([received[0]]);
        await alice.ReopenAsync();

        var unread = alice.Rm.GetUnreadMessages();
        Assert.Equal([("shown, then the app died", true), ("stored, never shown", false)], unread.Select(m => (m.Text, m.MayRepeat)));
        await alice.Rm.BeginShowingAsync(unread);
        await alice.Rm.MarkReadAsync(unread[0].Contact, [.. unread.Select(m => m.Id)]);
        Assert.Empty(alice.Rm.GetUnreadMessages());
    }

    internal static async Task Introduce(Person inviter, Person acceptor)
    {
        var invitation = await inviter.Rm.CreateInvitationAsync();
        var accepted = await acceptor.Rm.AcceptInvitationAsync(invitation);
        Assert.Equal(inviter.Name, accepted.Name);
        Assert.Equal(RelationshipState.AwaitingReply, accepted.State);

        // The inviter learns of the relationship through the relay, from the introduction.
        var established = Assert.IsType<ContactEstablished>(Assert.Single(await inviter.Rm.ReceiveAsync()));
        Assert.Equal(acceptor.Name, established.Contact.Name);
        Assert.Equal(acceptor.Rm.Identity, established.Contact.Identity);

        // The introduction's receipt tells the acceptor the other side has it.
        var answered = Assert.IsType<ContactEstablished>(Assert.Single(await acceptor.Rm.ReceiveAsync()));
        Assert.Equal(RelationshipState.Established, answered.Contact.State);

        var inviterSide = inviter.Contact(acceptor.Name);
        var acceptorSide = acceptor.Contact(inviter.Name);
        var number = inviter.Rm.GetSafetyNumber(inviterSide);
        Assert.Equal(number, acceptor.Rm.GetSafetyNumber(acceptorSide));
        Assert.True(inviter.Rm.ConfirmVerified(inviterSide, number).Verified);
        Assert.True(acceptor.Rm.ConfirmVerified(acceptorSide).Verified);
    }

    internal static async Task Converse(Person a, Person b)
    {
        for (var round = 0; round < 3; round++)
        {
            await Exchange(a, b, $"round {round}: hello {b.Name}");
            await Exchange(b, a, $"round {round}: hello {a.Name}");
        }
    }

    internal static async Task Exchange(Person from, Person to, string text)
    {
        var sent = await from.Rm.SendAsync(from.Contact(to.Name), text);
        Assert.Equal(MessageStatus.Sent, sent.Status);

        var received = Assert.IsType<MessageReceived>(Assert.Single(await to.Rm.ReceiveAsync()));
        Assert.Equal(text, received.Text);
        Assert.Equal(from.Name, received.Contact.Name);
        Assert.Equal(sent.Id, received.Id);

        var receipt = Assert.IsType<ReceiptReceived>(Assert.Single(await from.Rm.ReceiveAsync()));
        Assert.Equal(ReceiptKind.Delivered, receipt.Kind);
        Assert.Equal([sent.Id], receipt.Messages);
        Assert.Equal(MessageStatus.Delivered, from.Rm.GetMessages(from.Contact(to.Name)).Single(m => m.Id == sent.Id).Status);
    }

    private static async Task Terminate(Person a, Person b)
    {
        var ended = await a.Rm.TerminateAsync(a.Contact(b.Name));
        Assert.Equal(RelationshipState.TerminatedByUs, ended.State);

        var told = Assert.IsType<ContactTerminated>(Assert.Single(await b.Rm.ReceiveAsync()));
        Assert.Equal(RelationshipState.TerminatedByThem, told.Contact.State);
        var refused = await Assert.ThrowsAsync<RmException>(() => b.Rm.SendAsync(b.Contact(a.Name), "are you there?"));
        Assert.Equal(RmError.RelationshipTerminated, refused.Error);
        refused = await Assert.ThrowsAsync<RmException>(() => a.Rm.SendAsync(a.Contact(b.Name), "one more"));
        Assert.Equal(RmError.RelationshipTerminated, refused.Error);
    }
}
