namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>Groups with following inboxes: every step (introductions, forwards, held copies) driven by pushes alone.</summary>
public sealed class GroupFollowingTests
{
    [Fact]
    public async Task Members_who_only_follow_meet_and_receive_a_message_written_before_they_met()
    {
        await using var cast = await Cast.StartAsync("alice", "bob", "carol");
        var (_, alice, bob, carol) = cast;
        await ConversationTests.Introduce(alice, bob);
        await ConversationTests.Introduce(alice, carol);
        await using var aliceInbox = FollowingTests.Follow(alice);
        await using var bobInbox = FollowingTests.Follow(bob);
        await using var carolInbox = FollowingTests.Follow(carol);

        var group = await alice.Rm.CreateGroupAsync("friends", [alice.Contact("bob"), alice.Contact("carol")]);
        Assert.Equal(group.Id, (await carolInbox.NextAsync<GroupChanged>()).Group.Id);
        var sent = await carol.Rm.SendToGroupAsync(group.Id, "written before bob and I met");

        foreach (var inbox in new[] { aliceInbox, bobInbox })
        {
            var received = await inbox.NextAsync<GroupMessageReceived>();
            Assert.Equal(sent.Id, received.Id);
            Assert.Equal("carol", received.SenderName);
        }

        Assert.Equal(carol.Rm.Identity, bob.Contact("carol").Identity);
        Assert.Single(bob.Rm.GetGroupMessages(group.Id), m => m.Id == sent.Id);
    }
}
