using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>docs/vectors/rm-succession-v1.txt: every body computed again from the file's inputs, byte for byte, and read back.</summary>
public sealed class RmSuccessionVectorTests
{
    private static readonly string[] Groups = ["common", "alice2", "successor", "merge", "merge_keep", "backup"];

    [Fact]
    public void Every_body_is_regenerated_byte_for_byte_and_decodes_to_its_inputs()
    {
        var v = ProtocolVectors.Load("rm-succession-v1.txt");
        var differing = Generate(v).Where(o => o.Value != v.Text(o.Name)).Select(o => $"{o.Name} = {o.Value}").ToList();
        Assert.True(differing.Count == 0, "computed:\n" + string.Join("\n", differing));

        Assert.Empty(v.Unread(Groups));
        Assert.Empty(v.Entries.Select(e => ProtocolVectors.GroupOf(e.Key)).Distinct().Except(Groups));
    }

    [Fact]
    public void The_successor_s_invitation_is_a_valid_invitation_of_the_identity_vectors()
    {
        var v = ProtocolVectors.Load("rm-succession-v1.txt");
        var successor = Assert.IsType<Successor>(CommandCodec.Decode(v.Bytes("successor.body")));
        var invitation = Invitation.DecodeIgnoringExpiry(successor.Invitation.Span);
        Assert.Equal(v.Bytes("alice2.signing_public_key"), invitation.Inviter.SigningKey.ToArray());
    }

    private static List<(string Name, string Value)> Generate(ProtocolVectors v)
    {
        var outputs = new List<(string, string)>();
        var other = new PublicIdentity(v.Bytes("alice2.signing_public_key"), v.Bytes("alice2.agreement_public_key"));
        Command Common(Command c) => c with
        {
            Id = CommandId.Read(v.Bytes("common.command_id")),
            SentAt = DateTimeOffset.FromUnixTimeMilliseconds(v.Number("common.sent_at")),
            RatchetKeyId = checked((uint)v.Number("common.ratchet_key_id")),
            RatchetKey = v.Bytes("common.ratchet_key"),
        };

        void Body(string group, Command command)
        {
            var body = CommandCodec.Encode(Common(command));
            outputs.Add(($"{group}.body", Convert.ToHexStringLower(body)));
            Assert.Equal(body, CommandCodec.Encode(CommandCodec.Decode(body)));
        }

        Body("successor", new Successor(v.Bytes("successor.invitation")));
        Body("merge", new Merge(other, Keep: false));
        Body("merge_keep", new Merge(other, Keep: true));
        Body("backup", new Update(Name: v.Text("backup.name")) { Backup = other });
        return outputs;
    }
}
