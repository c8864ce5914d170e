using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Groups of three through a relay on loopback (docs/RM-PROTOCOL.md §8): membership, fan-out, removal, leaving.</summary>
public sealed class GroupTests
{
    [Fact]
    public async Task Three_members_who_were_not_all_contacts_share_one_membership_and_every_message_exactly_once()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(alice, carol);

        var created = await alice.Rm.CreateGroupAsync("friends", [alice.Contact("bob"), alice.Contact("carol")]);
        Assert.Equal(["alice", "bob", "carol"], created.Members.Select(m => m.Name));
        Assert.True(created.YouAreAdmin);

        // Carol writes as soon as she is in, before she and Bob have a relationship: Bob's copy waits for it.
        var joined = Assert.Single((await carol.Rm.ReceiveAsync()).OfType<GroupChanged>());
        Assert.Equal(GroupStanding.Member, joined.Group.Standing);
        Assert.Equal(RmError.UnknownContact, Assert.Throws<RmException>(() => carol.Contact("bob")).Error);
        var early = await carol.Rm.SendToGroupAsync(created.Id, "carol, before meeting bob");
        await carol.ReopenAsync(); // what waits for the relationship is stored, not held in memory

        var settled = await Group.SettleAsync(alice, bob, carol);
        Group.AssertSameView(created.Id, 1, alice, bob, carol);
        Assert.Equal(RelationshipState.Established, bob.Contact("carol").State);
        Assert.Equal(carol.Rm.Identity, bob.Contact("carol").Identity);
        Assert.Equal(bob.Rm.Identity, carol.Contact("bob").Identity);
        Group.AssertReceivedOnce(settled, early, "carol", alice, bob);

        foreach (var sender in new[] { alice, bob, carol })
        {
            var sent = await sender.Rm.SendToGroupAsync(created.Id, $"hello from {sender.Name}");
            var events = await Group.SettleAsync(alice, bob, carol);
            Group.AssertReceivedOnce(events, sent, sender.Name, [.. new[] { alice, bob, carol }.Where(p => p != sender)]);
        }

        // Everyone's conversation holds the same four messages, their own included, each once.
        foreach (var person in new[] { alice, bob, carol })
        {
            Assert.Equal(4, person.Rm.GetGroupMessages(created.Id).Select(m => m.Id).Distinct().Count());
        }
    }

    [Fact]
    public async Task A_removed_member_receives_nothing_sent_after_the_removal()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        var group = await Group.OfThreeAsync(alice, bob, carol);

        var after = await alice.Rm.RemoveFromGroupAsync(group, carol.Rm.Identity);
        Assert.Equal(["alice", "bob"], after.Members.Select(m => m.Name));
        var removal = await Group.SettleAsync(alice, bob, carol);
        Group.AssertSameView(group, 2, alice, bob);
        var told = Assert.Single(removal[carol].OfType<GroupChanged>());
        Assert.Equal(GroupStanding.Removed, told.Group.Standing);
        Assert.Equal(["alice", "bob"], told.Group.Members.Select(m => m.Name));

        var fromBob = await bob.Rm.SendToGroupAsync(group, "carol is gone");
        var fromAlice = await alice.Rm.SendToGroupAsync(group, "so she is");
        var afterwards = await Group.SettleAsync(alice, bob, carol);
        Group.AssertReceivedOnce(afterwards, fromBob, "bob", alice);
        Group.AssertReceivedOnce(afterwards, fromAlice, "alice", bob);
        Assert.DoesNotContain(afterwards[carol], e => e is GroupMessageReceived or EnvelopeRefused);
        Assert.DoesNotContain(carol.Rm.GetGroupMessages(group), m => m.Id == fromBob.Id || m.Id == fromAlice.Id);

        var refused = await Assert.ThrowsAsync<RmException>(() => carol.Rm.SendToGroupAsync(group, "still here?"));
        Assert.Equal(RmError.NotInGroup, refused.Error);

        // The admin may add her again: from that epoch on she is a member like the others.
        await alice.Rm.AddToGroupAsync(group, alice.Contact("carol"));
        await Group.SettleAsync(alice, bob, carol);
        Group.AssertSameView(group, 3, alice, bob, carol);
        var welcome = await bob.Rm.SendToGroupAsync(group, "welcome back");
        Group.AssertReceivedOnce(await Group.SettleAsync(alice, bob, carol), welcome, "bob", alice, carol);
    }

    [Fact]
    public async Task A_member_who_leaves_is_dropped_by_all_and_the_admin_publishes_the_new_list()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        var group = await Group.OfThreeAsync(alice, bob, carol);

        var left = await bob.Rm.LeaveGroupAsync(group);
        Assert.Equal(GroupStanding.Left, left.Standing);
        await Group.SettleAsync(alice, bob, carol);
        Group.AssertSameView(group, 2, alice, carol);
        Assert.Equal(["alice", "carol"], alice.Rm.GetGroup(group).Members.Select(m => m.Name));

        var sent = await carol.Rm.SendToGroupAsync(group, "just us");
        var events = await Group.SettleAsync(alice, bob, carol);
        Group.AssertReceivedOnce(events, sent, "carol", alice);
        Assert.DoesNotContain(events[bob], e => e is GroupMessageReceived);
    }

    [Fact]
    public async Task The_admin_leaving_hands_over_to_the_next_member_who_then_changes_the_list()
    {
        await using var relay = await LoopbackRelay.StartAsync();
        await using var alice = await Person.InitializeAsync("alice", relay);
        await using var bob = await Person.InitializeAsync("bob", relay);
        await using var carol = await Person.InitializeAsync("carol", relay);
        await using var dave = await Person.InitializeAsync("dave", relay);
        var group = await Group.OfThreeAsync(alice, bob, carol);
        await ConversationTests.Introduce(bob, dave);

        await alice.Rm.LeaveGroupAsync(group);
        await Group.SettleAsync(alice, bob, carol);
        Group.AssertSameView(group, 2, bob, carol);
        Assert.True(bob.Rm.GetGroup(group).YouAreAdmin);
        Assert.Equal(GroupStanding.Left, alice.Rm.GetGroup(group).Standing);

        await bob.Rm.AddToGroupAsync(group, bob.Contact("dave"));
        await Group.SettleAsync(alice, bob, carol, dave);
        Group.AssertSameView(group, 3, bob, carol, dave);
        Assert.Equal(["bob", "carol", "dave"], dave.Rm.GetGroup(group).Members.Select(m => m.Name));

        var sent = await dave.Rm.SendToGroupAsync(group, "hi, I am new");
        var events = await Group.SettleAsync(alice, bob, carol, dave);
        Group.AssertReceivedOnce(events, sent, "dave", bob, carol);
        Assert.DoesNotContain(events[alice], e => e is GroupMessageReceived);
    }

    [Fact]
    public async Task A_group_message_that_arrives_twice_is_shown_once()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        var group = await Group.OfThreeAsync(alice, bob, carol);

        // The same message id in two commands (each with its own command id), as a resend after a crash would be.
        var message = new GroupMessage(group, CommandId.Read(new byte[16]), 1, "once only");
        await alice.Rm.SendGroupCommandAsync(alice.Contact("bob"), message);
        await alice.Rm.SendGroupCommandAsync(alice.Contact("bob"), message);

        var shown = Assert.Single((await bob.Rm.ReceiveAsync()).OfType<GroupMessageReceived>());
        Assert.Equal("once only", shown.Text);
        Assert.Single(bob.Rm.GetGroupMessages(group), m => m.Text == "once only");
    }

    [Fact]
    public async Task Group_messages_stay_unread_until_marked_and_survive_reopening()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        var group = await Group.OfThreeAsync(alice, bob, carol);
        var sent = await alice.Rm.SendToGroupAsync(group, "read me after a crash");
        await Group.SettleAsync(alice, bob, carol);

        await bob.ReopenAsync();
        var unread = Assert.Single(bob.Rm.GetUnreadGroupMessages());
        Assert.Equal(sent.Id, unread.Id);
        Assert.Equal("alice", unread.SenderName);
        bob.Rm.MarkGroupRead(group, [unread.Id]);
        Assert.Empty(bob.Rm.GetUnreadGroupMessages());
        Assert.Equal(group, bob.Rm.FindGroup("friends").Id);
        Assert.Equal(group, bob.Rm.FindGroup(group.ToString()).Id);
    }
}
