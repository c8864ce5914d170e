using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// Pairwise fan-out (docs/RM-PROTOCOL.md §8.4): after every group change, whether ours or one that arrived,
// members who have no relationship yet are introduced, and every queued group command is sealed into the
// relationship with its member as soon as that relationship works. What needs a relay and cannot reach
// one stays recorded and is tried again at the next send or receive.
public sealed partial class RelationshipManager
{
    /// <summary>Accepts forwarded invitations, sends our own, and seals what the group outbox holds. Never throws for an unreachable relay.</summary>
    private async Task DeliverGroupsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await AcceptGroupInvitationsAsync(cancellationToken);
            await InviteGroupMembersAsync(cancellationToken);
        }
        catch (Exception e) when (e is RelayException || ServiceConnections.IsConnectionFailure(e))
        {
            // Recorded work stays recorded: the next send or receive tries again.
        }

        SealGroupOutbox();
    }

    /// <summary>
    /// Seals any group command to one contact, checked by nobody on our side: what a correspondent's other
    /// software might send. Tests use it to provoke each refusal of docs/RM-PROTOCOL.md §8.3.
    /// </summary>
    internal Task SendGroupCommandAsync(Contact to, GroupCommand command, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var relationship = Sendable(to.Id);
                    Seal(writer, ref relationship, command, Time.GetUtcNow());
                    writer.Commit();
                }

                return await FlushOutboxAsync(cancellationToken);
            },
            cancellationToken);

    private void SealGroupOutbox()
    {
        foreach (var listed in _database.GetGroupOutbox())
        {
            using var writer = _database.BeginWrite();
            // Read again inside the transaction: another process sharing the home may have sealed it meanwhile.
            if (_database.GetGroupOutboxEntry(listed.Id) is not { } entry)
            {
                continue;
            }

            var command = (GroupCommand)CommandCodec.Decode(entry.Body);
            var group = _database.GetGroup(entry.Group);
            // Once we have applied a member's removal (or left), nothing more of the group's conversation goes to
            // them; the lists that say so (group state, leave) still do.
            var due = command is GroupState or GroupLeave
                || (group is { Standing: GroupStanding.Member } && group.Lists(entry.Recipient));
            if (!due)
            {
                writer.RemoveGroupOutbox(entry.Id);
            }
            else if (_database.GetWorkingRelationship(entry.Recipient) is { State: RelationshipState.Established or RelationshipState.AwaitingReply } relationship)
            {
                Seal(writer, ref relationship, command, Time.GetUtcNow());
                writer.RemoveGroupOutbox(entry.Id);
            }
            else
            {
                continue; // no relationship works with them yet: kept, and nothing is committed
            }

            writer.Commit();
        }
    }

    /// <summary>
    /// For each member listed before us (the admin excepted) with whom we have no relationship, an invitation of
    /// ours goes to the admin, who forwards it (§8.4): the later member invites, so two never invite each other.
    /// </summary>
    private async Task InviteGroupMembersAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var sent = _database.GetGroupIntroductions(GroupIntroductionDirection.Sent);
        foreach (var group in _database.GetGroups().Where(g => g.Standing == GroupStanding.Member))
        {
            var us = group.Members.ToList().FindIndex(m => m.Identity.Equals(Identity));
            var admin = group.Admin!;
            if (us <= 0 || _database.GetWorkingRelationship(admin) is not { State: RelationshipState.Established or RelationshipState.AwaitingReply })
            {
                continue; // the admin invites nobody; without a relationship with the admin there is no one to forward
            }

            foreach (var member in group.Members.Skip(1).Take(us - 1))
            {
                if (_database.GetWorkingRelationship(member.Identity) is not null
                    || sent.Any(s => s.Identity.Equals(member.Identity) && s.At + _options.InvitationLifetime > now))
                {
                    continue;
                }

                var invitation = await CreateGroupInvitationAsync(cancellationToken);
                using var writer = _database.BeginWrite();
                QueueGroupCommand(writer, [admin], new GroupIntroduction(group.Id, member.Identity, invitation), now);
                writer.SetGroupIntroduction(new GroupIntroductionRecord(member.Identity, GroupIntroductionDirection.Sent, group.Id, member.Name, null, now));
                writer.Commit();
                sent = _database.GetGroupIntroductions(GroupIntroductionDirection.Sent);
            }
        }
    }

    /// <summary>Accepts what the admin forwarded: a relationship with the member, named as the group lists them, not verified.</summary>
    private async Task AcceptGroupInvitationsAsync(CancellationToken cancellationToken)
    {
        foreach (var pending in _database.GetGroupIntroductions(GroupIntroductionDirection.ToAccept))
        {
            Invitation? invitation = null;
            try
            {
                invitation = Invitation.Decode(pending.Invitation, Time.GetUtcNow());
            }
            catch (InvitationException)
            {
                // Expired while waiting for a relay: the member's next invitation (sent once this one's lifetime is over) replaces it.
            }

            if (invitation is null || _database.GetWorkingRelationship(pending.Identity) is not null)
            {
                using var done = _database.BeginWrite();
                done.RemoveGroupIntroduction(pending.Identity, GroupIntroductionDirection.ToAccept);
                done.Commit();
                continue;
            }

            await AcceptForGroupAsync(invitation, pending, cancellationToken);
        }
    }

    private async Task<byte[]> CreateGroupInvitationAsync(CancellationToken cancellationToken) =>
        (await IssueInvitationAsync(successor: false, cancellationToken)).ToArray();

    /// <summary>Accepts a forwarded invitation, naming the inviter as the group does; done once, even by two processes sharing the home.</summary>
    private Task<long?> AcceptForGroupAsync(Invitation invitation, GroupIntroductionRecord pending, CancellationToken cancellationToken) =>
        AcceptUnderGateAsync(
            invitation,
            pending.Name,
            writer =>
            {
                writer.RemoveGroupIntroduction(pending.Identity, GroupIntroductionDirection.ToAccept);
                // Another process sharing the home may have accepted it first.
                return _database.GetWorkingRelationship(invitation.Inviter) is null;
            },
            cancellationToken);
}
