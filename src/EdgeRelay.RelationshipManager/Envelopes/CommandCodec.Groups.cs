using System.Formats.Cbor;
using System.Text;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

// Types 6 to 9 (docs/RM-PROTOCOL.md §8). Their keys 10 to 13 mean other things than in types 0 to 5, so
// they are read and written here, by type, and never fall into the other types' cases.
internal static partial class CommandCodec
{
    internal const int GroupKey = 10;
    internal const int EpochKey = 11;
    internal const int GroupNameKey = 12;
    internal const int MembersKey = 13;
    internal const int GroupMessageIdKey = 12;
    internal const int GroupTextKey = 13;
    internal const int ForMemberKey = 11;
    internal const int GroupInvitationKey = 12;

    /// <summary>The most members a group lists: 100 entries of at most 133 bytes each fit one envelope with room to spare.</summary>
    internal const int MaxGroupMembers = 100;

    /// <summary>An invitation's longest binary form (§3.1).</summary>
    internal const int MaxInvitationBytes = 2317;

    private static bool IsGroupType(CommandType type) => type is >= CommandType.GroupState and <= CommandType.GroupIntroduction;

    private static int GroupFieldCount(GroupCommand command) => command switch
    {
        GroupState or GroupMessage => 4,
        GroupIntroduction => 3,
        _ => 1,
    };

    private static void WriteGroup(CborWriter writer, GroupCommand command)
    {
        writer.WriteUInt32(GroupKey);
        writer.WriteByteString(command.Group.ToArray());
        switch (command)
        {
            case GroupState state:
                CheckMembers(state.Members);
                writer.WriteUInt32(EpochKey);
                writer.WriteUInt64(state.Epoch);
                WriteText(writer, GroupNameKey, state.Name);
                writer.WriteUInt32(MembersKey);
                writer.WriteStartArray(state.Members.Count);
                foreach (var member in state.Members)
                {
                    writer.WriteStartArray(2);
                    writer.WriteByteString(member.Identity.Bytes);
                    WriteBoundedText(writer, member.Name);
                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                break;
            case GroupMessage message:
                writer.WriteUInt32(EpochKey);
                writer.WriteUInt64(message.Epoch);
                writer.WriteUInt32(GroupMessageIdKey);
                writer.WriteByteString(message.Message.ToArray());
                writer.WriteUInt32(GroupTextKey);
                writer.WriteTextString(message.Text);
                break;
            case GroupIntroduction introduction:
                if (introduction.Invitation.Length is 0 or > MaxInvitationBytes)
                {
                    throw new ArgumentException($"An invitation is 1 to {MaxInvitationBytes} bytes.", nameof(command));
                }

                writer.WriteUInt32(ForMemberKey);
                writer.WriteByteString(introduction.ForMember.Bytes);
                writer.WriteUInt32(GroupInvitationKey);
                writer.WriteByteString(introduction.Invitation.Span);
                break;
        }
    }

    private static void WriteText(CborWriter writer, int key, string text)
    {
        writer.WriteUInt32((uint)key);
        WriteBoundedText(writer, text);
    }

    private static void WriteBoundedText(CborWriter writer, string text)
    {
        if (Encoding.UTF8.GetByteCount(text) > MaxNameBytes)
        {
            throw new ArgumentException($"A name is at most {MaxNameBytes} bytes of UTF-8.", nameof(text));
        }

        writer.WriteTextString(text);
    }

    private static void CheckMembers(IReadOnlyList<GroupMemberEntry> members)
    {
        if (members.Count is 0 or > MaxGroupMembers || members.DistinctBy(m => Convert.ToHexString(m.Identity.Bytes)).Count() != members.Count)
        {
            throw new ArgumentException($"A group lists 1 to {MaxGroupMembers} distinct members.", nameof(members));
        }
    }

    private static bool TryReadGroupField(CborReader reader, CommandType type, ulong key, Fields f)
    {
        switch (type, key)
        {
            case (_, GroupKey):
                f.Group = GroupId.Read(ReadBytes(reader, GroupId.Length));
                return true;
            case (CommandType.GroupState or CommandType.GroupMessage, EpochKey):
                f.Epoch = reader.ReadUInt64();
                return true;
            case (CommandType.GroupState, GroupNameKey):
                f.Name = ReadBoundedText(reader);
                return true;
            case (CommandType.GroupState, MembersKey):
                f.Members = ReadArray(reader, minimum: 1, ReadMember);
                if (f.Members.Count > MaxGroupMembers || f.Members.DistinctBy(m => Convert.ToHexString(m.Identity.Bytes)).Count() != f.Members.Count)
                {
                    Malformed($"a member list of more than {MaxGroupMembers} entries, or with an identity twice.");
                }

                return true;
            case (CommandType.GroupMessage, GroupMessageIdKey):
                f.GroupMessageId = CommandId.Read(ReadBytes(reader, CommandId.Length));
                return true;
            case (CommandType.GroupMessage, GroupTextKey):
                f.Text = reader.ReadTextString();
                return true;
            case (CommandType.GroupIntroduction, ForMemberKey):
                f.ForMember = PublicIdentity.FromBytes(ReadBytes(reader, PublicIdentity.Length));
                return true;
            case (CommandType.GroupIntroduction, GroupInvitationKey):
                var invitation = reader.ReadByteString();
                f.Invitation = invitation.Length is > 0 and <= MaxInvitationBytes ? invitation : Malformed<byte[]>($"an invitation of {invitation.Length} bytes.");
                return true;
            default:
                return false;
        }
    }

    private static GroupMemberEntry ReadMember(CborReader reader)
    {
        if (reader.ReadStartArray() != 2)
        {
            Malformed("a member entry that is not [identity, name].");
        }

        var member = new GroupMemberEntry(PublicIdentity.FromBytes(ReadBytes(reader, PublicIdentity.Length)), ReadBoundedText(reader));
        reader.ReadEndArray();
        return member;
    }

    private static string ReadBoundedText(CborReader reader)
    {
        var text = reader.ReadTextString();
        return Encoding.UTF8.GetByteCount(text) <= MaxNameBytes ? text : Malformed<string>($"a name longer than {MaxNameBytes} bytes.");
    }

    private static Command BuildGroup(CommandType type, Fields f)
    {
        var group = f.Group ?? Malformed<GroupId>($"required key {GroupKey} is missing.");
        return type switch
        {
            CommandType.GroupState => new GroupState(group, RequiredValue(f.Epoch, EpochKey), Required(f.Name, GroupNameKey), Required(f.Members, MembersKey)),
            CommandType.GroupMessage => new GroupMessage(group, RequiredValue(f.GroupMessageId, GroupMessageIdKey), RequiredValue(f.Epoch, EpochKey), Required(f.Text, GroupTextKey)),
            CommandType.GroupLeave => new GroupLeave(group),
            _ => new GroupIntroduction(group, Required(f.ForMember, ForMemberKey), Required(f.Invitation, GroupInvitationKey)),
        };
    }

    private static T RequiredValue<T>(T? value, int key)
        where T : struct =>
        value ?? Malformed<T>($"required key {key} is missing.");

    private sealed partial class Fields
    {
        public GroupId? Group;
        public ulong? Epoch;
        public List<GroupMemberEntry>? Members;
        public CommandId? GroupMessageId;
        public PublicIdentity? ForMember;
    }
}
