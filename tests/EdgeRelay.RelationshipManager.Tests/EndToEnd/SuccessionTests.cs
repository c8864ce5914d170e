using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// Handing over to a successor app (docs/RM-PROTOCOL.md §9.2) through a relay on loopback: Alice's old home hands over
/// to her new one; Bob (who verified her) follows automatically, Carol (who did not) after accepting; the three go on
/// talking, each side seeing every message once.
/// </summary>
public sealed class SuccessionTests
{
    [Fact]
    public async Task Correspondents_follow_to_the_successor_and_the_conversation_continues_with_nothing_lost_or_duplicated()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var newRelay = await LoopbackRelay.StartAsync(); // the new app's own receiving service
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var alice2 = await Person.InitializeAsync("alice", newRelay);

        await ConversationTests.Introduce(alice, bob); // verified on both sides
        await IntroduceUnverified(alice, carol);
        await ConversationTests.Converse(alice, bob);
        await ConversationTests.Exchange(carol, alice, "carol, before");
        var bobContact = bob.Contact("alice");
        var carolContact = carol.Contact("alice");

        // Written to the old app just before the hand-over, never received there: resent to the successor.
        await bob.Rm.SendAsync(bobContact, "bob, in flight during the hand-over");

        var told = await alice.Rm.HandOverAsync(await alice2.Rm.CreateSuccessorInvitationAsync());
        Assert.Equal(["bob", "carol"], told.Select(c => c.Name).Order());
        Assert.All(told, c => Assert.Equal(RelationshipState.HandedOver, c.State));
        var closed = await Assert.ThrowsAsync<RmException>(() => alice.Rm.SendAsync(alice.Contact("bob"), "from the old app"));
        Assert.Equal(RmError.RelationshipTerminated, closed.Error);

        // Bob verified Alice's old identity, which vouches for the successor: he follows at once, in the same contact.
        var followed = Assert.IsType<SuccessorAccepted>(Assert.Single(await bob.Rm.ReceiveAsync()));
        Assert.True(followed.Automatically);
        Assert.Equal(alice.Rm.Identity, followed.Previous);
        Assert.Equal(bobContact.Id, followed.Contact.Id);
        Assert.Equal(alice2.Rm.Identity, followed.Contact.Identity);
        Assert.True(followed.Contact.Verified);

        // Carol did not verify: she is asked, and until she decides nothing changes.
        var proposed = Assert.IsType<SuccessorProposed>(Assert.Single(await carol.Rm.ReceiveAsync()));
        Assert.Equal(alice2.Rm.Identity, proposed.Successor);
        Assert.Equal(carol.Rm.GetSafetyNumber(carolContact with { Identity = alice2.Rm.Identity }), proposed.SafetyNumber);
        Assert.Equal(alice.Rm.Identity, carol.Contact("alice").Identity);
        Assert.Equal(alice2.Rm.Identity, carol.Rm.GetProposedSuccessor(carolContact));
        await carol.Rm.SendAsync(carolContact, "carol, while deciding");

        // The old app acknowledges what still reaches it but shows none of it: the successor gets it instead.
        Assert.DoesNotContain(await alice.Rm.ReceiveAsync(), e => e is MessageReceived);

        var accepted = await carol.Rm.AcceptSuccessorAsync(carolContact);
        Assert.Equal(alice2.Rm.Identity, accepted.Identity);
        Assert.False(accepted.Verified);
        Assert.Null(carol.Rm.GetProposedSuccessor(accepted));

        // The new app: two relationships that continue its predecessor's, and the two messages the old app never confirmed.
        var arrived = await alice2.Rm.ReceiveAsync();
        Assert.Equal(["bob", "carol"], arrived.OfType<ContactContinued>().Select(c => c.Contact.Name).Order());
        Assert.Equal(["bob, in flight during the hand-over", "carol, while deciding"], arrived.OfType<MessageReceived>().Select(m => m.Text).Order());
        Assert.Equal(4, arrived.Count);
        Assert.True(alice2.Rm.ContinuesPredecessor(alice2.Contact("bob")));

        var bobSide = await bob.Rm.ReceiveAsync();
        Assert.Contains(bobSide, e => e is ContactEstablished);
        Assert.Single(bobSide.OfType<ReceiptReceived>());
        await carol.Rm.ReceiveAsync();

        await ConversationTests.Converse(alice2, bob);
        await ConversationTests.Exchange(alice2, carol, "from the new app");
        await ConversationTests.Exchange(carol, alice2, "carol, after");

        // Bob's and Carol's histories with Alice are whole, in one contact, each message once and delivered.
        var bobHistory = bob.Rm.GetMessages(bob.Contact("alice"), 100);
        Assert.Equal(13, bobHistory.Count); // 6 before, 1 in flight, 6 after (the same texts as before: the same rounds)
        Assert.Equal(13, bobHistory.Select(m => m.Id).Distinct().Count());
        Assert.Single(bobHistory, m => m.Text == "bob, in flight during the hand-over");
        Assert.All(bobHistory.Where(m => m.Outgoing), m => Assert.Equal(MessageStatus.Delivered, m.Status));
        Assert.Equal([alice.Rm.Identity], bob.Rm.GetPreviousIdentities(bob.Contact("alice")));
        Assert.Equal(
            ["carol, before", "carol, while deciding", "from the new app", "carol, after"],
            carol.Rm.GetMessages(carol.Contact("alice")).Select(m => m.Text));
        Assert.Equal(bobContact.Id, Assert.Single(bob.Rm.GetContacts()).Id);
        Assert.Single(carol.Rm.GetContacts());
        var newSide = alice2.Rm.GetMessages(alice2.Contact("bob"), 100);
        Assert.Equal(7, newSide.Select(m => m.Id).Distinct().Count()); // the one resent, then 6
        Assert.Equal(7, newSide.Count);
    }

    [Fact]
    public async Task No_private_key_of_the_old_app_reaches_the_new_one_or_a_correspondent()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var alice2 = await Person.InitializeAsync("alice", relay);
        await ConversationTests.Introduce(alice, bob);

        var invitation = await alice2.Rm.CreateSuccessorInvitationAsync();
        await alice.Rm.HandOverAsync(invitation);
        await bob.Rm.ReceiveAsync();
        await alice2.Rm.ReceiveAsync();
        await bob.Rm.ReceiveAsync();
        await ConversationTests.Exchange(bob, alice2, "after the hand-over");

        // The old app's secrets (signing seed, agreement key, state key), looked for by value in every file of the new
        // home and of the correspondent's, and in the invitation that travelled between the apps.
        var secrets = new byte[96];
        using (var store = KeyStore.Open(Path.Combine(alice.Options.Home, KeyStore.DefaultFileName), Person.Passphrase))
        {
            store.RevealSecrets(secrets);
        }

        await alice2.ReopenAsync();
        await bob.ReopenAsync();
        var carried = new List<byte[]> { System.Text.Encoding.ASCII.GetBytes(invitation) };
        carried.AddRange(Directory.GetFiles(alice2.Options.Home).Concat(Directory.GetFiles(bob.Options.Home)).Select(File.ReadAllBytes));
        for (var i = 0; i < secrets.Length; i += 32)
        {
            var secret = secrets.AsMemory(i, 32);
            Assert.All(carried, bytes => Assert.True(bytes.AsSpan().IndexOf(secret.Span) < 0));
        }
    }

    [Fact]
    public async Task Hand_over_refuses_what_is_not_a_successor_invitation_and_the_new_app_own_one()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var alice2 = await Person.InitializeAsync("alice", relay);

        var ordinary = await alice2.Rm.CreateInvitationAsync();
        var notSuccessor = await Assert.ThrowsAsync<RmException>(() => alice.Rm.HandOverAsync(ordinary));
        Assert.Equal(RmError.NotASuccessorInvitation, notSuccessor.Error);

        var successor = await alice2.Rm.CreateSuccessorInvitationAsync();
        var own = await Assert.ThrowsAsync<RmException>(() => alice2.Rm.HandOverAsync(successor));
        Assert.Equal(RmError.OwnInvitation, own.Error);

        var altered = successor[..^2] + (successor[^2] == 'A' ? "B" : "A") + successor[^1];
        var invalid = await Assert.ThrowsAsync<InvitationException>(() => alice.Rm.HandOverAsync(altered));
        Assert.Equal(InvitationError.BadSignature, invalid.Error);

        var ordinaryAsSuccessor = RelationshipManager.SuccessorTextPrefix + ordinary[Invitation.TextPrefix.Length..] + "=";
        Assert.Equal(RmError.NotASuccessorInvitation, (await Assert.ThrowsAsync<RmException>(() => alice.Rm.HandOverAsync(ordinaryAsSuccessor))).Error);
    }

    [Fact]
    public async Task Ending_one_continued_relationship_keeps_the_shared_address_for_the_others()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var alice2 = await Person.InitializeAsync("alice", relay);
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(alice, carol);
        await alice.Rm.HandOverAsync(await alice2.Rm.CreateSuccessorInvitationAsync());
        await bob.Rm.ReceiveAsync();
        await carol.Rm.ReceiveAsync();
        Assert.Equal(2, (await alice2.Rm.ReceiveAsync()).OfType<ContactContinued>().Count());
        await bob.Rm.ReceiveAsync();
        await carol.Rm.ReceiveAsync();

        await alice2.Rm.TerminateAsync(alice2.Contact("bob"));
        Assert.IsType<ContactTerminated>(Assert.Single(await bob.Rm.ReceiveAsync()));

        await ConversationTests.Exchange(carol, alice2, "still reaching you");
    }

    internal static async Task IntroduceUnverified(Person inviter, Person acceptor)
    {
        await acceptor.Rm.AcceptInvitationAsync(await inviter.Rm.CreateInvitationAsync());
        Assert.IsType<ContactEstablished>(Assert.Single(await inviter.Rm.ReceiveAsync()));
        Assert.IsType<ContactEstablished>(Assert.Single(await acceptor.Rm.ReceiveAsync()));
    }
}
