using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Backups (docs/RM-PROTOCOL.md §9.1) through a relay on loopback: announced, recorded, then trusted for a hand-over.</summary>
public sealed class BackupTests
{
    [Fact]
    public async Task A_hand_over_to_the_announced_backup_is_followed_without_asking_even_unverified()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var backup = await Person.InitializeAsync("alice", relay);
        await SuccessionTests.IntroduceUnverified(alice, carol);
        await ConversationTests.Exchange(carol, alice, "before");

        Assert.Equal(RmError.InvalidBackup, (await Assert.ThrowsAsync<RmException>(() => alice.Rm.SetBackupAsync(alice.Rm.Identity))).Error);
        Assert.Equal("carol", Assert.Single(await alice.Rm.SetBackupAsync(backup.Rm.Identity)).Name);
        var announced = Assert.IsType<BackupAnnounced>(Assert.Single(await carol.Rm.ReceiveAsync()));
        Assert.Equal(backup.Rm.Identity, announced.Backup);
        Assert.Equal(backup.Rm.Identity, carol.Rm.GetBackup(carol.Contact("alice")));

        await alice.Rm.HandOverAsync(await backup.Rm.CreateSuccessorInvitationAsync());

        var followed = Assert.IsType<SuccessorAccepted>(Assert.Single(await carol.Rm.ReceiveAsync()));
        Assert.True(followed.Automatically);
        Assert.False(followed.Contact.Verified); // trusted as far as the old identity was, no further
        Assert.Equal(backup.Rm.Identity, followed.Contact.Identity);
        Assert.IsType<ContactContinued>(Assert.Single(await backup.Rm.ReceiveAsync()));
        Assert.IsType<ContactEstablished>(Assert.Single(await carol.Rm.ReceiveAsync()));
        await ConversationTests.Exchange(backup, carol, "from the backup");
        await ConversationTests.Exchange(carol, backup, "after");
        Assert.Equal(["before", "from the backup", "after"], carol.Rm.GetMessages(carol.Contact("alice")).Select(m => m.Text));
    }

    [Fact]
    public async Task A_hand_over_to_another_app_than_the_backup_still_asks()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var backup = await Person.InitializeAsync("alice", relay);
        await using var other = await Person.InitializeAsync("alice", relay);
        await SuccessionTests.IntroduceUnverified(alice, carol);
        await alice.Rm.SetBackupAsync(backup.Rm.Identity);
        await carol.Rm.ReceiveAsync();

        await alice.Rm.HandOverAsync(await other.Rm.CreateSuccessorInvitationAsync());

        Assert.Equal(other.Rm.Identity, Assert.IsType<SuccessorProposed>(Assert.Single(await carol.Rm.ReceiveAsync())).Successor);
        Assert.Equal(alice.Rm.Identity, carol.Contact("alice").Identity);
    }

    [Fact]
    public async Task A_backup_naming_the_sender_the_receiver_or_another_contact_is_refused()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await SuccessionTests.IntroduceUnverified(alice, carol);
        await SuccessionTests.IntroduceUnverified(bob, carol);

        foreach (var named in new[] { alice.Rm.Identity, carol.Rm.Identity, bob.Rm.Identity })
        {
            await alice.Rm.SendCommandAsync(alice.Contact("carol"), new Update { Backup = named });
            var refused = Assert.IsType<EnvelopeRefused>(Assert.Single(await carol.Rm.ReceiveAsync()));
            Assert.Equal(nameof(RefusalCode.BackupInvalid), refused.Code);
            Assert.Null(carol.Rm.GetBackup(carol.Contact("alice")));
        }
    }
}
