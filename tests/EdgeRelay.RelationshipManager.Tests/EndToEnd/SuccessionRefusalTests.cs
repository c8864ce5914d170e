using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>What a correspondent refuses in a successor command (docs/RM-PROTOCOL.md §9.2), each with its code, changing nothing.</summary>
public sealed class SuccessionRefusalTests
{
    [Fact]
    public async Task A_successor_that_is_not_a_valid_invitation_or_names_the_sender_is_refused()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);
        var own = Invitation.Parse(await alice.Rm.CreateInvitationAsync(), DateTimeOffset.UtcNow).ToArray();
        var altered = own.ToArray();
        altered[^1] ^= 1;

        foreach (var invitation in new[] { altered, own, [1, 1, 0] })
        {
            await alice.Rm.SendCommandAsync(alice.Contact("bob"), new Successor(invitation));
            await AssertRefused(bob, RefusalCode.SuccessorInvalid, alice.Rm.Identity);
        }
    }

    [Fact]
    public async Task An_expired_successor_is_refused()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (_, alice, bob) = cast;
        await ConversationTests.Introduce(alice, bob);
        var card = Invitation.Parse(await alice.Rm.CreateInvitationAsync(), DateTimeOffset.UtcNow).Card;
        using var successor = IdentityKeyPair.Generate();
        var expired = Invitation.Create(successor, "alice", card, DateTimeOffset.UtcNow.AddMinutes(-1), out var secrets);
        secrets.Dispose();

        await alice.Rm.SendCommandAsync(alice.Contact("bob"), new Successor(expired.ToArray()));

        await AssertRefused(bob, RefusalCode.SuccessorExpired, alice.Rm.Identity);
    }

    [Fact]
    public async Task A_successor_that_is_already_a_contact_is_refused()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(carol, bob);
        var carols = await carol.Rm.CreateSuccessorInvitationAsync();

        await alice.Rm.HandOverAsync(carols);

        await AssertRefused(bob, RefusalCode.SuccessorAlreadyAContact, alice.Rm.Identity);
    }

    [Fact]
    public async Task A_successor_in_a_relationship_held_by_a_key_change_is_refused()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (relay, alice, bob) = cast;
        await using var impostor = await Person.InitializeAsync("bob", relay);
        await using var successor = await Person.InitializeAsync("bob", relay);
        await ConversationTests.Introduce(alice, bob);
        await impostor.Rm.AcceptInvitationAsync(await alice.Rm.CreateInvitationAsync());
        Assert.IsType<KeyChangeDetected>(Assert.Single(await alice.Rm.ReceiveAsync()));

        await impostor.Rm.HandOverAsync(await successor.Rm.CreateSuccessorInvitationAsync());

        var refused = Assert.IsType<EnvelopeRefused>(Assert.Single(await alice.Rm.ReceiveAsync()));
        Assert.Equal(nameof(RefusalCode.NotWorking), refused.Code);
        Assert.Equal(RelationshipState.KeyChangePending, alice.Rm.GetContacts().Single(c => c.Identity.Equals(impostor.Rm.Identity)).State);
    }

    [Fact]
    public async Task Accepting_or_declining_without_a_proposal_is_refused_and_declining_forgets_it()
    {
        await using var cast = await Cast.StartAsync("alice", "bob");
        var (relay, alice, bob) = cast;
        await using var alice2 = await Person.InitializeAsync("alice", relay);
        await SuccessionTests.IntroduceUnverified(alice, bob);
        var contact = bob.Contact("alice");
        Assert.Equal(RmError.NoSuccessorProposed, (await Assert.ThrowsAsync<RmException>(() => bob.Rm.AcceptSuccessorAsync(contact))).Error);
        Assert.Equal(RmError.NoSuccessorProposed, Assert.Throws<RmException>(() => bob.Rm.DeclineSuccessor(contact)).Error);

        await alice.Rm.HandOverAsync(await alice2.Rm.CreateSuccessorInvitationAsync());
        Assert.IsType<SuccessorProposed>(Assert.Single(await bob.Rm.ReceiveAsync()));
        bob.Rm.DeclineSuccessor(contact);

        Assert.Null(bob.Rm.GetProposedSuccessor(contact));
        Assert.Equal(alice.Rm.Identity, bob.Contact("alice").Identity);
        Assert.Equal(RmError.NoSuccessorProposed, (await Assert.ThrowsAsync<RmException>(() => bob.Rm.AcceptSuccessorAsync(contact))).Error);
        Assert.Empty(await alice2.Rm.ReceiveAsync());
    }

    private static async Task AssertRefused(Person receiver, RefusalCode code, PublicIdentity unchanged)
    {
        var refused = Assert.IsType<EnvelopeRefused>(Assert.Single(await receiver.Rm.ReceiveAsync()));
        Assert.Equal(code.ToString(), refused.Code);
        Assert.Equal(unchanged, Assert.Single(receiver.Rm.GetContacts(), c => c.Identity.Equals(unchanged)).Identity);
        Assert.Null(receiver.Rm.GetProposedSuccessor(refused.Contact!));
    }
}
