using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// Merges (docs/RM-PROTOCOL.md §9.3) through a relay on loopback: Alice has two apps, each with a relationship with
/// Bob; when both say they are one person, Bob's two conversations become one.
/// </summary>
public sealed class MergeTests
{
    [Fact]
    public async Task Two_relationships_with_one_person_become_one_when_both_identities_say_so()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var phone = await Person.InitializeAsync("alice", relay);
        await using var laptop = await Person.InitializeAsync("alice-laptop", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await ConversationTests.Introduce(phone, bob); // verified
        await SuccessionTests.IntroduceUnverified(laptop, bob);
        await ConversationTests.Exchange(bob, phone, "to the phone");
        await ConversationTests.Exchange(laptop, bob, "from the laptop");
        var folded = bob.Contact("alice");
        var kept = bob.Contact("alice-laptop");

        // One half alone changes nothing.
        await phone.Rm.RequestMergeAsync(phone.Contact("bob"), laptop.Rm.Identity, keepThis: false);
        Assert.Empty(await bob.Rm.ReceiveAsync());
        Assert.Equal(2, bob.Rm.GetContacts().Count(c => c.State == RelationshipState.Established));

        await laptop.Rm.RequestMergeAsync(laptop.Contact("bob"), phone.Rm.Identity, keepThis: true);
        var merged = Assert.IsType<ContactsMerged>(Assert.Single(await bob.Rm.ReceiveAsync()));
        Assert.True(merged.Automatically); // the phone's identity was verified, and it vouched for the laptop's
        Assert.Equal(folded.Id, merged.Contact.Id);
        Assert.Equal(RelationshipState.Merged, merged.Contact.State);
        Assert.Equal(kept.Id, merged.Into.Id);
        Assert.True(merged.Into.Verified);
        Assert.Equal([phone.Rm.Identity], bob.Rm.GetPreviousIdentities(merged.Into));

        // One conversation, each message once; the phone learns the relationship there ended.
        Assert.Equal(["to the phone", "from the laptop"], bob.Rm.GetMessages(merged.Into).Select(m => m.Text));
        Assert.Empty(bob.Rm.GetMessages(merged.Contact));

        // What the phone sent before it learned is not lost: it shows in the kept conversation.
        await phone.Rm.SendAsync(phone.Contact("bob"), "from the phone, late");
        var late = Assert.IsType<MessageReceived>(Assert.Single(await bob.Rm.ReceiveAsync()));
        Assert.Equal(kept.Id, late.Contact.Id);
        Assert.Contains(await phone.Rm.ReceiveAsync(), e => e is ContactTerminated);

        await ConversationTests.Exchange(bob, laptop, "to the one alice");
        Assert.Equal(["to the phone", "from the laptop", "from the phone, late", "to the one alice"], bob.Rm.GetMessages(bob.Contact("alice-laptop")).Select(m => m.Text));
    }

    [Fact]
    public async Task Without_verification_the_user_decides_and_declining_forgets_the_request()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var phone = await Person.InitializeAsync("alice", relay);
        await using var laptop = await Person.InitializeAsync("alice-laptop", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await SuccessionTests.IntroduceUnverified(phone, bob);
        await SuccessionTests.IntroduceUnverified(laptop, bob);
        var folded = bob.Contact("alice");
        Assert.Equal(RmError.NoMergeProposed, (await Assert.ThrowsAsync<RmException>(() => bob.Rm.AcceptMergeAsync(folded))).Error);

        await Request(phone, laptop, bob);
        var proposed = Assert.IsType<MergeProposed>(Assert.Single(await bob.Rm.ReceiveAsync()));
        Assert.Equal(folded.Id, proposed.Contact.Id);
        Assert.Equal(bob.Contact("alice-laptop").Id, bob.Rm.GetProposedMerge(folded)!.Id);
        bob.Rm.DeclineMerge(folded);
        Assert.Null(bob.Rm.GetProposedMerge(folded));
        Assert.Equal(RmError.NoMergeProposed, Assert.Throws<RmException>(() => bob.Rm.DeclineMerge(folded)).Error);

        await Request(phone, laptop, bob);
        Assert.IsType<MergeProposed>(Assert.Single(await bob.Rm.ReceiveAsync()));
        var kept = await bob.Rm.AcceptMergeAsync(folded);
        Assert.False(kept.Verified);
        Assert.Equal(RelationshipState.Merged, bob.Rm.GetContacts().Single(c => c.Id == folded.Id).State);
        Assert.Contains(await phone.Rm.ReceiveAsync(), e => e is ContactTerminated);
    }

    [Fact]
    public async Task A_merge_naming_no_other_contact_or_disagreeing_halves_are_refused()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var phone = await Person.InitializeAsync("alice", relay);
        await using var laptop = await Person.InitializeAsync("alice-laptop", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await ConversationTests.Introduce(phone, bob);
        await ConversationTests.Introduce(laptop, bob);
        using var stranger = IdentityKeyPair.Generate();

        await phone.Rm.RequestMergeAsync(phone.Contact("bob"), stranger.Public, keepThis: false);
        Assert.Equal(nameof(RefusalCode.MergeUnknownIdentity), Assert.IsType<EnvelopeRefused>(Assert.Single(await bob.Rm.ReceiveAsync())).Code);

        await phone.Rm.RequestMergeAsync(phone.Contact("bob"), laptop.Rm.Identity, keepThis: false);
        await laptop.Rm.RequestMergeAsync(laptop.Contact("bob"), phone.Rm.Identity, keepThis: false);
        var events = await bob.Rm.ReceiveAsync();
        Assert.Equal(nameof(RefusalCode.MergeConflict), Assert.IsType<EnvelopeRefused>(Assert.Single(events)).Code);
        Assert.Equal(2, bob.Rm.GetContacts().Count(c => c.State == RelationshipState.Established));

        var own = await Assert.ThrowsAsync<RmException>(() => phone.Rm.RequestMergeAsync(phone.Contact("bob"), phone.Rm.Identity, keepThis: true));
        Assert.Equal(RmError.CannotMerge, own.Error);
        var theirs = await Assert.ThrowsAsync<RmException>(() => phone.Rm.RequestMergeAsync(phone.Contact("bob"), bob.Rm.Identity, keepThis: true));
        Assert.Equal(RmError.CannotMerge, theirs.Error);
    }

    [Fact]
    public async Task A_merge_with_the_announced_backup_needs_no_decision_even_unverified()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var phone = await Person.InitializeAsync("alice", relay);
        await using var laptop = await Person.InitializeAsync("alice-laptop", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await SuccessionTests.IntroduceUnverified(phone, bob);
        await phone.Rm.SetBackupAsync(laptop.Rm.Identity);
        Assert.IsType<BackupAnnounced>(Assert.Single(await bob.Rm.ReceiveAsync()));
        await SuccessionTests.IntroduceUnverified(laptop, bob);

        await Request(phone, laptop, bob);

        var merged = Assert.IsType<ContactsMerged>(Assert.Single(await bob.Rm.ReceiveAsync()));
        Assert.True(merged.Automatically);
        Assert.False(merged.Into.Verified);
    }

    private static async Task Request(Person fold, Person keep, Person receiver)
    {
        await fold.Rm.RequestMergeAsync(fold.Contact(receiver.Name), keep.Rm.Identity, keepThis: false);
        await keep.Rm.RequestMergeAsync(keep.Contact(receiver.Name), fold.Rm.Identity, keepThis: true);
    }
}
