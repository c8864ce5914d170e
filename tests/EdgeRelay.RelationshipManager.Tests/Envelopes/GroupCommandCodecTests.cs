using System.Formats.Cbor;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using static EdgeRelay.RelationshipManager.Tests.Envelopes.CommandBodies;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>Types 6 to 9 (docs/RM-PROTOCOL.md §8): round trips, and every departure from the documented fields refused.</summary>
public sealed class GroupCommandCodecTests
{
    private static readonly GroupId Group = GroupId.Read(Enumerable.Range(0x40, 16).Select(i => (byte)i).ToArray());
    private static readonly PublicIdentity Ann = Identity(1);
    private static readonly PublicIdentity Ben = Identity(2);

    public static TheoryData<string, Command> Commands => new()
    {
        { "state", new GroupState(Group, 3, "friends", [new(Ann, "ann"), new(Ben, "ben")]) },
        { "message", new GroupMessage(Group, CommandId.Read(Id), 3, "hello all") },
        { "empty message", new GroupMessage(Group, CommandId.Read(Id), 1, "") },
        { "leave", new GroupLeave(Group) },
        { "introduction", new GroupIntroduction(Group, Ben, new byte[] { 1, 2, 3 }) },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Each_group_command_comes_back_as_written(string what, Command command)
    {
        var body = CommandCodec.Encode(Common(command));
        var decoded = CommandCodec.Decode(body);

        Assert.Equal(command.Type, decoded.Type);
        Assert.True(body.AsSpan().SequenceEqual(CommandCodec.Encode(decoded)), what);
        Assert.Equal(Group, Assert.IsAssignableFrom<GroupCommand>(decoded).Group);
        switch (decoded)
        {
            case GroupState state:
                Assert.Equal(["ann", "ben"], state.Members.Select(m => m.Name));
                Assert.Equal(Ben, state.Members[1].Identity);
                Assert.Equal(3UL, state.Epoch);
                break;
            case GroupMessage message:
                Assert.Equal(((GroupMessage)command).Text, message.Text);
                Assert.Equal(CommandId.Read(Id), message.Message);
                break;
            case GroupIntroduction introduction:
                Assert.Equal(Ben, introduction.ForMember);
                Assert.Equal([1, 2, 3], introduction.Invitation.ToArray());
                break;
        }
    }

    [Fact]
    public void A_leave_is_the_documented_map()
    {
        var expected = Convert.FromHexString(
            "a6" + "0008" + "0150" + Convert.ToHexString(Id) + "021b000001a3185c5000" + "0302" + "045820" + Convert.ToHexString(Key) + "0a50" + Group);
        Assert.Equal(expected, CommandCodec.Encode(Common(new GroupLeave(Group))));
    }

    public static TheoryData<string, byte[]> Refused => new()
    {
        { "no group id", Body(8) },
        { "a group id of 15 bytes", Body(8, (10, w => w.WriteByteString(new byte[15]))) },
        { "key 11 on a leave", Body(8, GroupField, (11, w => w.WriteUInt32(1))) },
        { "a state without members", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g"))) },
        { "an empty member list", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g")), (13, w => Members(w, 0))) },
        { "101 members", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g")), (13, w => Members(w, 101))) },
        { "a member twice", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g")), (13, w => Members(w, 2, same: true))) },
        { "a member entry of three items", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g")), (13, w => { w.WriteStartArray(1); w.WriteStartArray(3); w.WriteByteString(Ann.Bytes); w.WriteTextString("a"); w.WriteUInt32(0); w.WriteEndArray(); w.WriteEndArray(); })) },
        { "a member identity of 32 bytes", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString("g")), (13, w => { w.WriteStartArray(1); w.WriteStartArray(2); w.WriteByteString(Ann.SigningKey); w.WriteTextString("a"); w.WriteEndArray(); w.WriteEndArray(); })) },
        { "a group name of 65 bytes", Body(6, GroupField, (11, w => w.WriteUInt32(1)), (12, w => w.WriteTextString(new string('g', 65))), (13, w => Members(w, 1))) },
        { "a message without its id", Body(7, GroupField, (11, w => w.WriteUInt32(1)), (13, w => w.WriteTextString("x"))) },
        { "a message epoch as text", Body(7, GroupField, (11, w => w.WriteTextString("1")), (12, w => w.WriteByteString(Id)), (13, w => w.WriteTextString("x"))) },
        { "an empty invitation", Body(9, GroupField, (11, w => w.WriteByteString(Ben.Bytes)), (12, w => w.WriteByteString([]))) },
        { "an invitation of 2318 bytes", Body(9, GroupField, (11, w => w.WriteByteString(Ben.Bytes)), (12, w => w.WriteByteString(new byte[2318]))) },
        { "key 14 on an introduction", Body(9, GroupField, (11, w => w.WriteByteString(Ben.Bytes)), (12, w => w.WriteByteString([1])), (14, w => w.WriteUInt32(0))) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Anything_but_the_documented_fields_is_malformed(string why, byte[] body)
    {
        var e = Assert.Throws<EnvelopeException>(() => CommandCodec.Decode(body));
        Assert.True(e.Error == EnvelopeError.Malformed, $"{why}: {e.Error} {e.Message}");
    }

    [Fact]
    public void The_writer_refuses_what_the_reader_would()
    {
        Assert.Throws<ArgumentException>(() => CommandCodec.Encode(Common(new GroupState(Group, 1, "g", [new(Ann, "a"), new(Ann, "b")]))));
        Assert.Throws<ArgumentException>(() => CommandCodec.Encode(Common(new GroupState(Group, 1, "g", []))));
        Assert.Throws<ArgumentException>(() => CommandCodec.Encode(Common(new GroupIntroduction(Group, Ben, Array.Empty<byte>()))));
    }

    private static (ulong, Action<CborWriter>) GroupField => (10, w => w.WriteByteString(Group.ToArray()));

    private static PublicIdentity Identity(byte fill) => PublicIdentity.FromBytes(Enumerable.Repeat(fill, PublicIdentity.Length).ToArray());

    private static void Members(CborWriter w, int count, bool same = false)
    {
        w.WriteStartArray(count);
        for (var i = 0; i < count; i++)
        {
            w.WriteStartArray(2);
            var identity = new byte[PublicIdentity.Length];
            identity[0] = same ? (byte)0 : (byte)i;
            w.WriteByteString(identity);
            w.WriteTextString("m");
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }
}
