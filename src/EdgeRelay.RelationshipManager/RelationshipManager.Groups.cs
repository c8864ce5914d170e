using System.Globalization;
using System.Security.Cryptography;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// Groups (docs/RM-PROTOCOL.md §8): what the user does. Every change is written with the group commands it
// causes, one per member, in one transaction; delivery (.GroupDelivery.cs) seals each into the relationship
// with its member once that relationship works. What arrives is applied in .GroupCommands.cs.
public sealed partial class RelationshipManager
{
    /// <summary>A group's most members (docs/RM-PROTOCOL.md §8.1).</summary>
    public const int MaxGroupMembers = CommandCodec.MaxGroupMembers;

    // The largest body a message envelope carries (§4.1).
    private const int MaxMessageBody = Envelope.MaxLength - Envelope.MessageHeaderLength - 32 - 16 - Envelope.BodyLengthPrefix - Envelope.SignatureLength;

    /// <summary>
    /// Creates a group of us (its admin) and <paramref name="contacts"/>, and tells each of them. Members who are
    /// not each other's contacts are introduced to each other through us, automatically.
    /// </summary>
    /// <exception cref="RmException">An invalid name, a contact unknown, terminated or held by a key change, or more than <see cref="MaxGroupMembers"/> members.</exception>
    public Task<Group> CreateGroupAsync(string name, IReadOnlyCollection<Contact> contacts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contacts);
        CheckName(name);
        return ChangeGroupAsync(
            now =>
            {
                var members = new List<GroupMemberEntry> { new(Identity, Name) };
                foreach (var contact in contacts)
                {
                    var relationship = Sendable(contact.Id);
                    if (!members.Any(m => m.Identity.Equals(relationship.Identity)))
                    {
                        members.Add(new(relationship.Identity, relationship.Name));
                    }
                }

                CheckSize(members.Count);
                return new GroupRecord(GroupId.Read(RandomNumberGenerator.GetBytes(GroupId.Length)), name, 1, GroupStanding.Member, members);
            },
            cancellationToken);
    }

    /// <summary>Adds a contact to a group we are the admin of; every member, the new one included, gets the new list.</summary>
    /// <exception cref="RmException">Not the admin, not in the group, the contact a member already or not sendable, or the group full.</exception>
    public Task<Group> AddToGroupAsync(GroupId group, Contact contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return ChangeGroupAsync(
            now =>
            {
                var current = AdministeredGroup(group);
                var relationship = Sendable(contact.Id);
                if (current.Lists(relationship.Identity))
                {
                    throw new RmException(RmError.AlreadyGroupMember, $"{relationship.Name} is a member of {current.Name} already.");
                }

                CheckSize(current.Members.Count + 1);
                return current with { Epoch = current.Epoch + 1, Members = [.. current.Members, new(relationship.Identity, relationship.Name)] };
            },
            cancellationToken);
    }

    /// <summary>
    /// Removes a member from a group we are the admin of. The remaining members get the new list, and so does
    /// the member removed (theirs no longer lists them): from then on nobody who has it sends them anything of
    /// the group, and they show nothing more of it.
    /// </summary>
    /// <exception cref="RmException">Not the admin, not in the group, or no such member (to remove ourselves, leave).</exception>
    public Task<Group> RemoveFromGroupAsync(GroupId group, PublicIdentity member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        return ChangeGroupAsync(
            now =>
            {
                var current = AdministeredGroup(group);
                if (!current.Lists(member) || member.Equals(Identity))
                {
                    throw new RmException(RmError.NotAGroupMember, $"{current.Name} lists no such member other than you (to leave a group, leave it).");
                }

                return current with { Epoch = current.Epoch + 1, Members = [.. current.Members.Where(m => !m.Identity.Equals(member))] };
            },
            cancellationToken,
            alsoTell: member);
    }

    /// <summary>
    /// Leaves a group: the other members drop us, and we send and show nothing more of it. An admin hands over to
    /// the next member by sending the new list itself; anyone else tells every member, and the admin publishes it.
    /// </summary>
    /// <exception cref="RmException">We left or were removed already.</exception>
    public Task<Group> LeaveGroupAsync(GroupId group, CancellationToken cancellationToken = default) =>
        SerialisedAsync(
            async () =>
            {
                using (var writer = _database.BeginWrite())
                {
                    var current = MemberGroup(group);
                    var now = Time.GetUtcNow();
                    var others = current.Members.Where(m => !m.Identity.Equals(Identity)).ToList();
                    var left = current with { Standing = GroupStanding.Left, Members = others };
                    if (current.Admin!.Equals(Identity) && others.Count > 0)
                    {
                        left = left with { Epoch = current.Epoch + 1 };
                        QueueState(writer, left, others.Select(m => m.Identity), now);
                    }
                    else
                    {
                        QueueGroupCommand(writer, others.Select(m => m.Identity), new GroupLeave(group), now);
                    }

                    writer.SetGroup(left, now);
                    writer.Commit();
                }

                await DeliverGroupsAsync(cancellationToken);
                await FlushOutboxAsync(cancellationToken);
                return ToGroup(_database.GetGroup(group)!);
            },
            cancellationToken);

    /// <summary>
    /// Sends a text to every other member of the group, each over our relationship with them. A member we have no
    /// working relationship with yet (being introduced) gets it once we do: it is stored until then.
    /// </summary>
    /// <exception cref="RmException">We left or were removed, or the text does not fit an envelope.</exception>
    public Task<StoredGroupMessage> SendToGroupAsync(GroupId group, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SerialisedAsync(
            async () =>
            {
                long row;
                using (var writer = _database.BeginWrite())
                {
                    var current = MemberGroup(group);
                    var now = Time.GetUtcNow();
                    var messageId = RandomNumberGenerator.GetBytes(CommandId.Length);
                    var command = new GroupMessage(group, CommandId.Read(messageId), current.Epoch, text);
                    if (Encoded(command, now).Length > MaxMessageBody)
                    {
                        throw new RmException(RmError.MessageTooLarge, "The message does not fit the largest envelope (16 KiB); shorten it.");
                    }

                    writer.AddGroupMessage(new GroupMessageRecord(0, group, Identity, Name, messageId, MessageDirection.Out, text, current.Epoch, now, now, GroupMessageStatus.New));
                    row = _database.GetGroupMessages(current.Id, 1)[0].Id;
                    QueueGroupCommand(writer, current.Members.Select(m => m.Identity).Where(i => !i.Equals(Identity)), command, now);
                    writer.Commit();
                }

                await DeliverGroupsAsync(cancellationToken);
                await FlushOutboxAsync(cancellationToken);
                return ToStoredGroupMessage(_database.GetGroupMessage(row)!);
            },
            cancellationToken);
    }

    /// <summary>Every group we know, in the order we learnt of them, those we left or were removed from included.</summary>
    public IReadOnlyList<Group> GetGroups() => Serialised(() => _database.GetGroups().Select(ToGroup).ToList());

    /// <summary>A group as we see it now.</summary>
    /// <exception cref="RmException"><see cref="RmError.UnknownGroup"/>.</exception>
    public Group GetGroup(GroupId group) => Serialised(() => ToGroup(KnownGroup(group)));

    /// <summary>Finds a group by its id (32 hex digits) or its name; a name several groups share is ambiguous.</summary>
    /// <exception cref="RmException"><see cref="RmError.UnknownGroup"/> or <see cref="RmError.AmbiguousGroup"/>.</exception>
    public Group FindGroup(string nameOrId)
    {
        ArgumentNullException.ThrowIfNull(nameOrId);
        return Serialised(() =>
        {
            var all = _database.GetGroups();
            if (GroupId.TryParse(nameOrId.ToLower(CultureInfo.InvariantCulture), out var id) && all.FirstOrDefault(g => g.Id == id) is { } byId)
            {
                return ToGroup(byId);
            }

            // A group we still belong to is what the user means by its name, before those we left.
            var named = all.Where(g => string.Equals(g.Name, nameOrId, StringComparison.OrdinalIgnoreCase)).ToList();
            List<GroupRecord> pick = named.Any(g => g.Standing == GroupStanding.Member) ? [.. named.Where(g => g.Standing == GroupStanding.Member)] : named;
            return pick.Count switch
            {
                0 => throw new RmException(RmError.UnknownGroup, $"No group is called \"{nameOrId}\"."),
                1 => ToGroup(pick[0]),
                _ => throw new RmException(RmError.AmbiguousGroup, $"Several groups are called \"{nameOrId}\": use the id ({string.Join(", ", pick.Select(g => g.Id))})."),
            };
        });
    }

    /// <summary>The latest <paramref name="limit"/> messages of a group, ours included, oldest first.</summary>
    public IReadOnlyList<StoredGroupMessage> GetGroupMessages(GroupId group, int limit = 50) =>
        Serialised(() => _database.GetGroupMessages(KnownGroup(group).Id, limit).Select(ToStoredGroupMessage).ToList());

    /// <summary>Group messages stored but not yet marked read (<see cref="MarkGroupRead"/>), oldest first: what an app shows after a crash.</summary>
    public IReadOnlyList<GroupMessageReceived> GetUnreadGroupMessages() => Serialised(() =>
    {
        var groups = _database.GetGroups().ToDictionary(g => g.Id);
        return _database.GetGroupMessages(GroupMessageStatus.New)
            .Select(m => ToGroupMessageReceived(m, groups[m.Group].Name, _database.GetWorkingRelationship(m.Sender)))
            .ToList();
    });

    /// <summary>Records that the user has seen these group messages. Group messages have no read receipts.</summary>
    public void MarkGroupRead(GroupId group, IReadOnlyCollection<MessageId> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Serialised(() =>
        {
            using var writer = _database.BeginWrite();
            var ids = messages.Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
            foreach (var message in _database.GetGroupMessages(GroupMessageStatus.New, group).Where(m => ids.Contains(Convert.ToHexStringLower(m.MessageId))))
            {
                writer.SetGroupMessageStatus(message.Id, GroupMessageStatus.Shown);
            }

            writer.Commit();
            return true;
        });
    }

    /// <summary>
    /// Writes a change the admin makes (computed by <paramref name="change"/> inside the transaction) with the new
    /// list for every member of it and for <paramref name="alsoTell"/> (a member removed), then delivers.
    /// </summary>
    private Task<Group> ChangeGroupAsync(Func<DateTimeOffset, GroupRecord> change, CancellationToken cancellationToken, PublicIdentity? alsoTell = null) =>
        SerialisedAsync(
            async () =>
            {
                GroupId id;
                using (var writer = _database.BeginWrite())
                {
                    var now = Time.GetUtcNow();
                    var changed = change(now);
                    id = changed.Id;
                    writer.SetGroup(changed, now);
                    var recipients = changed.Members.Select(m => m.Identity).Where(i => !i.Equals(Identity));
                    QueueState(writer, changed, alsoTell is null ? recipients : recipients.Append(alsoTell), now);
                    writer.Commit();
                }

                await DeliverGroupsAsync(cancellationToken);
                await FlushOutboxAsync(cancellationToken);
                return ToGroup(_database.GetGroup(id)!);
            },
            cancellationToken);

    private GroupRecord KnownGroup(GroupId group) =>
        _database.GetGroup(group) ?? throw new RmException(RmError.UnknownGroup, $"No group has id {group}.");

    private GroupRecord MemberGroup(GroupId group)
    {
        var known = KnownGroup(group);
        return known.Standing == GroupStanding.Member
            ? known
            : throw new RmException(RmError.NotInGroup, $"You {(known.Standing == GroupStanding.Left ? "left" : "were removed from")} {known.Name}: nothing more is sent to it.");
    }

    private GroupRecord AdministeredGroup(GroupId group)
    {
        var member = MemberGroup(group);
        return member.Admin!.Equals(Identity)
            ? member
            : throw new RmException(RmError.NotGroupAdmin, $"Only the admin of {member.Name} ({member.Members[0].Name}) adds and removes members.");
    }

    private static void CheckSize(int members)
    {
        if (members > MaxGroupMembers)
        {
            throw new RmException(RmError.GroupFull, $"A group lists at most {MaxGroupMembers} members.");
        }
    }

    private static void QueueState(RmWriter writer, GroupRecord group, IEnumerable<PublicIdentity> recipients, DateTimeOffset now) =>
        QueueGroupCommand(writer, recipients, new GroupState(group.Id, group.Epoch, group.Name, group.Members), now);

    /// <summary>Writes one copy of <paramref name="command"/> per recipient; delivery seals each when it can.</summary>
    private static void QueueGroupCommand(RmWriter writer, IEnumerable<PublicIdentity> recipients, GroupCommand command, DateTimeOffset now)
    {
        var body = Encoded(command, now);
        foreach (var recipient in recipients)
        {
            writer.AddGroupOutbox(command.Group, recipient, body, now);
        }
    }

    // Stored with placeholder common fields (§6 requires them to encode): sealing replaces every one of them.
    private static byte[] Encoded(GroupCommand command, DateTimeOffset now) =>
        CommandCodec.Encode(command with { SentAt = now, RatchetKey = new byte[PublicIdentity.KeyLength] });

    private Group ToGroup(GroupRecord g) =>
        new(g.Id, g.Name, g.Epoch, [.. g.Members.Select(m => new GroupMember(m.Identity, m.Name, m.Identity.Equals(Identity)))], g.Standing);

    private static StoredGroupMessage ToStoredGroupMessage(GroupMessageRecord m) =>
        new(m.Group, MessageId.From(m.MessageId), m.Sender, m.SenderName, m.Direction == MessageDirection.Out, m.Text, m.SentAt, m.At);

    private static GroupMessageReceived ToGroupMessageReceived(GroupMessageRecord m, string groupName, RelationshipRecord? sender) =>
        new(sender is null ? null : ToContact(sender), m.Group, groupName, MessageId.From(m.MessageId), m.Sender, m.SenderName, m.Text, m.SentAt, m.At);
}
