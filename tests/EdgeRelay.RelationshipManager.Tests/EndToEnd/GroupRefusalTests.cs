using System.Security.Cryptography;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.EndToEnd;

/// <summary>
/// Every refusal of docs/RM-PROTOCOL.md §8.3, provoked by a member whose software sends what ours never would,
/// and every refusal of the group API. A refused command changes no one's view.
/// </summary>
public sealed class GroupRefusalTests : IAsyncLifetime
{
    private LoopbackRelay _relay = null!;
    private Person _alice = null!;
    private Person _bob = null!;
    private Person _carol = null!;
    private GroupId _group;

    public async Task InitializeAsync()
    {
        _relay = await LoopbackRelay.StartAsync();
        _alice = await Person.InitializeAsync("alice", _relay);
        _bob = await Person.InitializeAsync("bob", _relay);
        _carol = await Person.InitializeAsync("carol", _relay);
        _group = await Group.OfThreeAsync(_alice, _bob, _carol);
    }

    public async Task DisposeAsync()
    {
        await _carol.DisposeAsync();
        await _bob.DisposeAsync();
        await _alice.DisposeAsync();
        await _relay.DisposeAsync();
    }

    [Fact]
    public async Task A_command_for_a_group_the_receiver_does_not_know()
    {
        var elsewhere = GroupId.Read(RandomNumberGenerator.GetBytes(GroupId.Length));
        await AssertRefused(_bob, _alice, new GroupMessage(elsewhere, NewId(), 1, "hello?"), RefusalCode.UnknownGroup);
        await AssertRefused(_bob, _alice, new GroupLeave(elsewhere), RefusalCode.UnknownGroup);
    }

    [Fact]
    public async Task A_member_list_from_someone_who_is_not_the_admin()
    {
        var view = _carol.Rm.GetGroup(_group);
        var takeover = new GroupState(_group, view.Epoch + 1, "mine now", [new(_bob.Rm.Identity, "bob"), new(_carol.Rm.Identity, "carol")]);
        await AssertRefused(_bob, _carol, takeover, RefusalCode.NotGroupAdmin);
        Assert.Equal(view.Members.Select(m => m.Identity), _carol.Rm.GetGroup(_group).Members.Select(m => m.Identity));

        // Nor may a member other than the admin forward introductions.
        var invitation = Invitation.Parse(await _bob.Rm.CreateInvitationAsync(), DateTimeOffset.UtcNow).ToArray();
        await AssertRefused(_bob, _carol, new GroupIntroduction(_group, _alice.Rm.Identity, invitation), RefusalCode.NotGroupAdmin);
    }

    [Fact]
    public async Task A_member_list_at_an_epoch_already_held()
    {
        var view = _bob.Rm.GetGroup(_group);
        var replayed = new GroupState(_group, view.Epoch, "renamed", [.. view.Members.Select(m => new GroupMemberEntry(m.Identity, m.Name))]);
        await AssertRefused(_alice, _bob, replayed, RefusalCode.StaleGroupEpoch);
        Assert.Equal("friends", _bob.Rm.GetGroup(_group).Name);
    }

    [Fact]
    public async Task A_member_list_with_control_characters_in_a_name()
    {
        var view = _bob.Rm.GetGroup(_group);
        var hostile = new GroupState(_group, view.Epoch + 1, "\u001b[2Jfriends", [.. view.Members.Select(m => new GroupMemberEntry(m.Identity, m.Name))]);
        await AssertRefused(_alice, _bob, hostile, RefusalCode.BadName);
        Assert.Equal(view.Epoch, _bob.Rm.GetGroup(_group).Epoch);
    }

    [Fact]
    public async Task A_message_from_someone_the_group_does_not_list()
    {
        await using var dave = await Person.InitializeAsync("dave", _relay);
        await ConversationTests.Introduce(_alice, dave);
        await ConversationTests.Introduce(_bob, dave);
        var epoch = _alice.Rm.GetGroup(_group).Epoch;
        await AssertRefused(dave, _alice, new GroupMessage(_group, NewId(), epoch, "let me in"), RefusalCode.NotGroupMember);

        // Written at a later epoch, it waits for that epoch's list, and is refused when the list does not have its sender.
        await dave.Rm.SendGroupCommandAsync(dave.Contact("bob"), new GroupMessage(_group, NewId(), epoch + 1, "from the future"));
        Assert.Empty(await _bob.Rm.ReceiveAsync());
        await _alice.Rm.RemoveFromGroupAsync(_group, _carol.Rm.Identity);
        var events = await _bob.Rm.ReceiveAsync();
        Assert.Equal(nameof(RefusalCode.NotGroupMember), Assert.Single(events.OfType<EnvelopeRefused>()).Code);
        Assert.DoesNotContain(events, e => e is GroupMessageReceived);
    }

    [Fact]
    public async Task A_message_written_at_an_epoch_not_yet_seen_is_shown_once_that_epoch_lists_its_sender()
    {
        await using var dave = await Person.InitializeAsync("dave", _relay);
        await ConversationTests.Introduce(_alice, dave);
        await ConversationTests.Introduce(_bob, dave);
        var epoch = _alice.Rm.GetGroup(_group).Epoch;

        var early = new GroupMessage(_group, NewId(), epoch + 1, "I got here before the list did");
        await dave.Rm.SendGroupCommandAsync(dave.Contact("bob"), early);
        Assert.Empty(await _bob.Rm.ReceiveAsync());
        await _alice.Rm.AddToGroupAsync(_group, _alice.Contact("dave"));

        var shown = Assert.Single((await _bob.Rm.ReceiveAsync()).OfType<GroupMessageReceived>());
        Assert.Equal(early.Text, shown.Text);
        Assert.Equal(MessageId.From(early.Message), shown.Id);
        Assert.Equal("dave", shown.SenderName);
    }

    [Fact]
    public async Task A_group_command_after_the_receiver_was_removed()
    {
        await _alice.Rm.RemoveFromGroupAsync(_group, _carol.Rm.Identity);
        await Group.SettleAsync(_alice, _bob, _carol);

        await AssertRefused(_bob, _carol, new GroupMessage(_group, NewId(), 1, "you should not see this"), RefusalCode.NotInGroup);
        Assert.Empty(_carol.Rm.GetUnreadGroupMessages());
    }

    [Fact]
    public async Task An_introduction_with_someone_elses_or_an_invalid_invitation()
    {
        var carols = Invitation.Parse(await _carol.Rm.CreateInvitationAsync(), DateTimeOffset.UtcNow).ToArray();
        await AssertRefused(_bob, _alice, new GroupIntroduction(_group, _carol.Rm.Identity, carols), RefusalCode.BadGroupIntroduction);
        await AssertRefused(_bob, _alice, new GroupIntroduction(_group, _carol.Rm.Identity, new byte[] { 1, 1, 0 }), RefusalCode.BadGroupIntroduction);
    }

    [Fact]
    public async Task The_api_refuses_with_stable_codes()
    {
        await using var dave = await Person.InitializeAsync("dave", _relay);
        await ConversationTests.Introduce(_alice, dave);

        Assert.Equal(RmError.UnknownGroup, Assert.Throws<RmException>(() => _alice.Rm.GetGroup(GroupId.Read(new byte[16]))).Error);
        Assert.Equal(RmError.UnknownGroup, Assert.Throws<RmException>(() => _alice.Rm.FindGroup("nobody's")).Error);
        Assert.Equal(RmError.InvalidName, (await Assert.ThrowsAsync<RmException>(() => _alice.Rm.CreateGroupAsync("", [_alice.Contact("bob")]))).Error);
        Assert.Equal(RmError.NotGroupAdmin, (await Assert.ThrowsAsync<RmException>(() => _bob.Rm.AddToGroupAsync(_group, _bob.Contact("alice")))).Error);
        Assert.Equal(RmError.AlreadyGroupMember, (await Assert.ThrowsAsync<RmException>(() => _alice.Rm.AddToGroupAsync(_group, _alice.Contact("bob")))).Error);
        Assert.Equal(RmError.NotAGroupMember, (await Assert.ThrowsAsync<RmException>(() => _alice.Rm.RemoveFromGroupAsync(_group, dave.Rm.Identity))).Error);
        Assert.Equal(RmError.NotAGroupMember, (await Assert.ThrowsAsync<RmException>(() => _alice.Rm.RemoveFromGroupAsync(_group, _alice.Rm.Identity))).Error);
        Assert.Equal(RmError.MessageTooLarge, (await Assert.ThrowsAsync<RmException>(() => _alice.Rm.SendToGroupAsync(_group, new string('x', 17_000)))).Error);

        await _alice.Rm.CreateGroupAsync("friends", [_alice.Contact("dave")]);
        Assert.Equal(RmError.AmbiguousGroup, Assert.Throws<RmException>(() => _alice.Rm.FindGroup("friends")).Error);

        await _bob.Rm.LeaveGroupAsync(_group);
        Assert.Equal(RmError.NotInGroup, (await Assert.ThrowsAsync<RmException>(() => _bob.Rm.SendToGroupAsync(_group, "back?"))).Error);
        Assert.Equal(RmError.NotInGroup, (await Assert.ThrowsAsync<RmException>(() => _bob.Rm.LeaveGroupAsync(_group))).Error);
    }

    [Fact]
    public async Task A_group_of_the_largest_size_takes_no_one_more()
    {
        // Alice hands Bob a group already at 100 members (the other 98 need not exist to be listed).
        var others = Enumerable.Range(0, RelationshipManager.MaxGroupMembers - 2)
            .Select(i => new GroupMemberEntry(PublicIdentity.FromBytes(RandomNumberGenerator.GetBytes(PublicIdentity.Length)), $"m{i}"))
            .ToList();
        var big = GroupId.Read(RandomNumberGenerator.GetBytes(GroupId.Length));
        var toBob = _alice.Contact("bob");
        await _alice.Rm.SendGroupCommandAsync(toBob, new GroupState(big, 1, "big", [new(_alice.Rm.Identity, "alice"), new(_bob.Rm.Identity, "bob"), .. others]));
        await _alice.Rm.SendGroupCommandAsync(toBob, new GroupState(big, 2, "big", [new(_bob.Rm.Identity, "bob"), new(_alice.Rm.Identity, "alice"), .. others]));
        await _bob.Rm.ReceiveAsync();
        Assert.True(_bob.Rm.GetGroup(big).YouAreAdmin);

        var full = await Assert.ThrowsAsync<RmException>(() => _bob.Rm.AddToGroupAsync(big, _bob.Contact("carol")));
        Assert.Equal(RmError.GroupFull, full.Error);
    }

    private static CommandId NewId() => CommandId.Read(RandomNumberGenerator.GetBytes(CommandId.Length));

    /// <summary><paramref name="sender"/> sends <paramref name="command"/>; <paramref name="receiver"/> refuses it with <paramref name="code"/>.</summary>
    private static async Task AssertRefused(Person sender, Person receiver, GroupCommand command, RefusalCode code)
    {
        await sender.Rm.SendGroupCommandAsync(sender.Contact(receiver.Name), command);
        var refused = Assert.Single((await receiver.Rm.ReceiveAsync()).OfType<EnvelopeRefused>());
        Assert.Equal(code.ToString(), refused.Code);
    }
}
