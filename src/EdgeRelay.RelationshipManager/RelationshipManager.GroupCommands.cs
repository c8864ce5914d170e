using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// What a group command (docs/RM-PROTOCOL.md §8.3) does when it arrives, inside the transaction that opened
// it. The sender is the relationship it came through: no group command can speak for anyone else.
public sealed partial class RelationshipManager
{
    private void ApplyGroup(RmWriter writer, RelationshipRecord relationship, GroupCommand command, DateTimeOffset now, List<RmEvent> events)
    {
        var from = ToContact(relationship);
        var sender = relationship.Identity;
        var group = _database.GetGroup(command.Group);
        void Refuse(RefusalCode code, string reason) => events.Add(new EnvelopeRefused(from, code.ToString(), reason, now));

        if (command is GroupState state)
        {
            ApplyState(writer, from, group, state, now, events, Refuse);
            return;
        }

        if (group is null)
        {
            Refuse(RefusalCode.UnknownGroup, $"{from.Name} sent a group command for a group we do not know.");
            return;
        }

        if (group.Standing != GroupStanding.Member)
        {
            Refuse(RefusalCode.NotInGroup, $"{from.Name} sent a command of {group.Name}, which we left or were removed from; it is not shown.");
            return;
        }

        var listed = group.Member(sender);
        switch (command)
        {
            case GroupMessage message when listed is null && message.Epoch > group.Epoch:
                // Its sender joined at an epoch whose group state has not reached us yet: decided when it does.
                writer.AddGroupMessage(new GroupMessageRecord(0, group.Id, sender, relationship.Name, message.Message.ToArray(), MessageDirection.In, message.Text, message.Epoch, command.SentAt, now, GroupMessageStatus.Held));
                return;
            case GroupLeave when listed is null:
                return; // the admin's new list, without them, came first: nothing left to do
            case not GroupIntroduction when listed is null:
                Refuse(RefusalCode.NotGroupMember, $"{from.Name} is not a member of {group.Name} as we see it; their group command is ignored.");
                return;
            case GroupMessage message:
                if (writer.AddGroupMessage(new GroupMessageRecord(0, group.Id, sender, listed!.Name, message.Message.ToArray(), MessageDirection.In, message.Text, message.Epoch, command.SentAt, now, GroupMessageStatus.New)))
                {
                    events.Add(new GroupMessageReceived(from, group.Id, group.Name, MessageId.From(message.Message), sender, listed.Name, message.Text, command.SentAt, now));
                }

                return;
            case GroupLeave:
                var remaining = group with { Members = [.. group.Members.Where(m => !m.Identity.Equals(sender))] };
                if (remaining.Admin is { } admin && admin.Equals(Identity))
                {
                    // We are (or have just become) the admin: every remaining member gets the list without them.
                    remaining = remaining with { Epoch = group.Epoch + 1 };
                    QueueState(writer, remaining, remaining.Members.Select(m => m.Identity).Where(i => !i.Equals(Identity)), now);
                }

                writer.SetGroup(remaining, now);
                events.Add(new GroupChanged(from, ToGroup(remaining), [], [ToMember(listed!)], now));
                return;
            case GroupIntroduction introduction:
                ApplyIntroduction(writer, group, sender, listed, introduction, now, Refuse);
                return;
        }
    }

    private void ApplyState(RmWriter writer, Contact from, GroupRecord? group, GroupState state, DateTimeOffset now, List<RmEvent> events, Action<RefusalCode, string> refuse)
    {
        if (!IsValidName(state.Name) || state.Members.Any(m => !IsValidName(m.Name)))
        {
            refuse(RefusalCode.BadName, $"{from.Name} sent a group whose name or member names hold control characters.");
            return;
        }

        var admin = group is null ? state.Members[0].Identity : group.Admin;
        if (group is { Standing: GroupStanding.Left })
        {
            refuse(RefusalCode.NotInGroup, $"{from.Name} sent the list of {group.Name}, which we left.");
        }
        else if (admin is null || !admin.Equals(from.Identity))
        {
            refuse(RefusalCode.NotGroupAdmin, $"{from.Name} sent a group's member list without being its admin.");
        }
        else if (group is null && !state.Members.Any(m => m.Identity.Equals(Identity)))
        {
            refuse(RefusalCode.NotGroupMember, $"{from.Name} sent the member list of a group we are not in and do not know.");
        }
        else if (group is not null && state.Epoch <= group.Epoch)
        {
            refuse(RefusalCode.StaleGroupEpoch, $"{from.Name} sent the list of {group.Name} at epoch {state.Epoch}; we have {group.Epoch}.");
        }
        else
        {
            var listsUs = state.Members.Any(m => m.Identity.Equals(Identity));
            var changed = new GroupRecord(state.Group, state.Name, state.Epoch, listsUs ? GroupStanding.Member : GroupStanding.Removed, state.Members);
            writer.SetGroup(changed, now);
            var before = group?.Members ?? [];
            events.Add(new GroupChanged(
                from,
                ToGroup(changed),
                [.. changed.Members.Where(m => !before.Any(b => b.Identity.Equals(m.Identity))).Select(ToMember)],
                [.. before.Where(b => !changed.Lists(b.Identity)).Select(ToMember)],
                now));
            DecideHeldMessages(writer, from, changed, now, events);
        }
    }

    /// <summary>Messages that arrived from members of an epoch we had not seen: shown now if this list has their sender, else refused.</summary>
    private void DecideHeldMessages(RmWriter writer, Contact from, GroupRecord group, DateTimeOffset now, List<RmEvent> events)
    {
        foreach (var held in _database.GetGroupMessages(GroupMessageStatus.Held, group.Id).Where(m => m.Epoch <= group.Epoch))
        {
            if (group.Standing == GroupStanding.Member && group.Member(held.Sender) is { } member)
            {
                writer.SetGroupMessageStatus(held.Id, GroupMessageStatus.New, now);
                var shown = held with { SenderName = member.Name, At = now };
                events.Add(ToGroupMessageReceived(shown, group.Name, _database.GetWorkingRelationship(held.Sender)));
            }
            else
            {
                writer.DeleteGroupMessage(held.Id);
                events.Add(new EnvelopeRefused(from, nameof(RefusalCode.NotGroupMember), $"A message to {group.Name} from someone its list at epoch {group.Epoch} does not have was dropped.", now));
            }
        }
    }

    private void ApplyIntroduction(RmWriter writer, GroupRecord group, PublicIdentity sender, GroupMemberEntry? listed, GroupIntroduction introduction, DateTimeOffset now, Action<RefusalCode, string> refuse)
    {
        if (listed is null)
        {
            refuse(RefusalCode.NotGroupMember, $"An introduction for {group.Name} came from someone it does not list.");
            return;
        }

        Invitation invitation;
        try
        {
            invitation = Invitation.Decode(introduction.Invitation.Span, now);
        }
        catch (InvitationException e)
        {
            refuse(RefusalCode.BadGroupIntroduction, $"An introduction for {group.Name} carried an invitation that is not valid: {e.Message}");
            return;
        }

        if (introduction.ForMember.Equals(Identity))
        {
            // Only what the admin forwards is taken, and only an invitation from a member to us.
            if (!sender.Equals(group.Admin))
            {
                refuse(RefusalCode.NotGroupAdmin, $"An introduction for {group.Name} came from {listed.Name}, who is not its admin.");
            }
            else if (invitation.Inviter.Equals(Identity) || group.Member(invitation.Inviter) is not { } inviter)
            {
                refuse(RefusalCode.NotGroupMember, $"An introduction for {group.Name} came from someone it does not list.");
            }
            else if (_database.GetWorkingRelationship(inviter.Identity) is null)
            {
                writer.SetGroupIntroduction(new GroupIntroductionRecord(inviter.Identity, GroupIntroductionDirection.ToAccept, group.Id, inviter.Name, introduction.Invitation.ToArray(), now));
            }

            return;
        }

        if (!Identity.Equals(group.Admin))
        {
            refuse(RefusalCode.NotGroupAdmin, $"{listed.Name} asked us to forward an introduction for {group.Name}, whose admin we are not.");
        }
        else if (!group.Lists(introduction.ForMember))
        {
            refuse(RefusalCode.NotGroupMember, $"{listed.Name} sent an introduction for {group.Name} to someone it does not list.");
        }
        else if (!invitation.Inviter.Equals(sender))
        {
            refuse(RefusalCode.BadGroupIntroduction, $"{listed.Name} sent someone else's invitation for {group.Name}.");
        }
        else
        {
            QueueGroupCommand(writer, [introduction.ForMember], new GroupIntroduction(group.Id, introduction.ForMember, introduction.Invitation), now);
        }
    }

    private GroupMember ToMember(GroupMemberEntry m) => new(m.Identity, m.Name, m.Identity.Equals(Identity));
}
