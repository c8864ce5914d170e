using System.Formats.Cbor;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using static EdgeRelay.RelationshipManager.Tests.Envelopes.CommandBodies;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>The commands of docs/RM-PROTOCOL.md §9 (successor, merge, the update's backup keys): their CBOR and its refusals.</summary>
public sealed class SuccessionCommandTests
{
    private static readonly PublicIdentity Other = new(Enumerable.Repeat((byte)0x11, 32).ToArray(), Enumerable.Repeat((byte)0x22, 32).ToArray());

    [Fact]
    public void Successor_merge_and_backup_round_trip()
    {
        var invitation = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var successor = Assert.IsType<Successor>(RoundTrip(new Successor(invitation)));
        Assert.Equal(invitation, successor.Invitation.ToArray());

        foreach (var keep in new[] { false, true })
        {
            var merge = Assert.IsType<Merge>(RoundTrip(new Merge(Other, keep)));
            Assert.Equal(Other, merge.Identity);
            Assert.Equal(keep, merge.Keep);
        }

        var update = Assert.IsType<Update>(RoundTrip(new Update(Name: "alice") { Backup = Other }));
        Assert.Equal(Other, update.Backup);
        Assert.Equal("alice", update.Name);
        Assert.Null(Assert.IsType<Update>(RoundTrip(new Update(Name: "alice"))).Backup);
    }

    [Fact]
    public void The_backup_keys_come_before_the_update_s_other_fields()
    {
        var body = CommandCodec.Encode(Common(new Update(Name: "a") { Backup = Other }));
        var reader = new CborReader(body, CborConformanceMode.Canonical);
        Assert.Equal(8, reader.ReadStartMap());
        var keys = new List<ulong>();
        for (var i = 0; i < 8; i++)
        {
            keys.Add(reader.ReadUInt64());
            reader.SkipValue();
        }

        Assert.Equal([0UL, 1, 2, 3, 4, 10, 11, 12], keys);
    }

    public static TheoryData<string, byte[]> Refused => new()
    {
        { "successor without its invitation", Body(10) },
        { "successor with an empty invitation", Body(10, (10, w => w.WriteByteString([]))) },
        { "successor with an invitation longer than any", Body(10, (10, w => w.WriteByteString(new byte[Invitation.MaxEncodedLength + 1]))) },
        { "successor with text for its invitation", Body(10, (10, w => w.WriteTextString("edgerelay-invite1:"))) },
        { "successor with key 11", Body(10, (10, w => w.WriteByteString([1])), (11, w => w.WriteByteString(Key))) },
        { "merge without keep", Body(11, (10, w => w.WriteByteString(Key)), (11, w => w.WriteByteString(Key))) },
        { "merge without its agreement key", Body(11, (10, w => w.WriteByteString(Key)), (12, w => w.WriteBoolean(true))) },
        { "merge with a 31-byte key", Body(11, (10, w => w.WriteByteString(Key[..31])), (11, w => w.WriteByteString(Key)), (12, w => w.WriteBoolean(true))) },
        { "merge with keep as an integer", Body(11, (10, w => w.WriteByteString(Key)), (11, w => w.WriteByteString(Key)), (12, w => w.WriteUInt32(1))) },
        { "merge with key 13", Body(11, (10, w => w.WriteByteString(Key)), (11, w => w.WriteByteString(Key)), (12, w => w.WriteBoolean(false)), (13, w => w.WriteUInt32(0))) },
        { "update with half a backup (10)", Body(4, (10, w => w.WriteByteString(Key))) },
        { "update with half a backup (11)", Body(4, (11, w => w.WriteByteString(Key))) },
        { "update with a 33-byte backup key", Body(4, (10, w => w.WriteByteString([.. Key, 0])), (11, w => w.WriteByteString(Key))) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Anything_but_the_documented_fields_is_malformed(string why, byte[] body)
    {
        var e = Assert.Throws<EnvelopeException>(() => CommandCodec.Decode(body));
        Assert.True(e.Error == EnvelopeError.Malformed, $"{why}: {e.Error} {e.Message}");
    }

    [Theory]
    [InlineData(12)]
    [InlineData(1000)]
    public void A_type_above_merge_is_an_unknown_command(int type)
    {
        var e = Assert.Throws<EnvelopeException>(() => CommandCodec.Decode(Body(type)));
        Assert.Equal(EnvelopeError.UnknownCommand, e.Error);
    }

    private static Command RoundTrip(Command command)
    {
        var body = CommandCodec.Encode(Common(command));
        var decoded = CommandCodec.Decode(body);
        Assert.Equal(body, CommandCodec.Encode(decoded));
        return decoded;
    }
}
