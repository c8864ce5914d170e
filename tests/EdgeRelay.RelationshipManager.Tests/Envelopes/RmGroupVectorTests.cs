using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>docs/vectors/rm-groups-v1.txt: every identity and body computed again byte for byte, and every body read back.</summary>
public sealed class RmGroupVectorTests
{
    private static readonly string[] Groups = ["alice", "bob", "carol", "common", "group", "state", "message", "leave", "introduction"];

    [Fact]
    public void Every_value_is_regenerated_byte_for_byte_and_every_body_decodes()
    {
        var v = ProtocolVectors.Load("rm-groups-v1.txt");
        var computed = Generate(v);
        var wrong = computed.Where(c => c.Value != v.Text(c.Name)).Select(c => $"{c.Name} = {c.Value}").ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));

        Assert.Empty(v.Unread(Groups));
        Assert.Empty(v.Entries.Select(e => ProtocolVectors.GroupOf(e.Key)).Distinct().Except(Groups));
    }

    private static List<(string Name, string Value)> Generate(ProtocolVectors v)
    {
        var outputs = new List<(string, string)>();
        PublicIdentity Person(string name)
        {
            using var keys = IdentityKeyPair.FromPrivateKeys(v.Bytes($"{name}.signing_seed"), v.Bytes($"{name}.agreement_private_key"));
            outputs.Add(($"{name}.public", Convert.ToHexStringLower(keys.Public.Bytes)));
            return keys.Public;
        }

        var alice = Person("alice");
        var bob = Person("bob");
        var carol = Person("carol");
        var group = GroupId.Read(v.Bytes("group.id"));
        T Body<T>(string name, T command)
            where T : Command
        {
            var withCommon = command with
            {
                Id = CommandId.Read(v.Bytes("common.command_id")),
                SentAt = DateTimeOffset.FromUnixTimeMilliseconds(v.Number("common.sent_at")),
                RatchetKeyId = checked((uint)v.Number("common.ratchet_key_id")),
                RatchetKey = v.Bytes("common.ratchet_key"),
            };
            var body = CommandCodec.Encode(withCommon);
            outputs.Add(($"{name}.body", Convert.ToHexStringLower(body)));
            var decoded = Assert.IsType<T>(CommandCodec.Decode(body));
            Assert.Equal(body, CommandCodec.Encode(decoded));
            return decoded;
        }

        var state = Body("state", new GroupState(
            group,
            v.UnsignedNumber("state.epoch"),
            v.Text("group.name"),
            [new(alice, v.Text("state.alice_name")), new(bob, v.Text("state.bob_name")), new(carol, v.Text("state.carol_name"))]));
        Assert.Equal(alice, state.Members[0].Identity);

        var message = Body("message", new GroupMessage(group, CommandId.Read(v.Bytes("message.id")), v.UnsignedNumber("message.epoch"), v.Text("message.text")));
        Assert.Equal(v.Text("message.text"), message.Text);

        Body("leave", new GroupLeave(group));

        var invitation = v.Bytes("introduction.invitation");
        var introduction = Body("introduction", new GroupIntroduction(group, bob, invitation));
        Assert.Equal(invitation, introduction.Invitation.ToArray());
        return outputs;
    }
}
