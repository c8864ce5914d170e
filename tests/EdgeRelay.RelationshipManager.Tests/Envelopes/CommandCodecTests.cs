using System.Formats.Cbor;
using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

public sealed class CommandCodecTests
{
    private static readonly byte[] Id = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
    private static readonly byte[] Key = Enumerable.Repeat((byte)9, 32).ToArray();

    [Fact]
    public void A_message_is_the_documented_map_in_ascending_key_order()
    {
        var command = new Message("hi") with
        {
            Id = CommandId.Read(Id),
            SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000),
            RatchetKeyId = 2,
            RatchetKey = Key,
        };
        var expected = Convert.FromHexString(
            "a6" + "0001" + "0150" + Convert.ToHexString(Id) + "021b000001a3185c5000" + "0302" + "045820" + Convert.ToHexString(Key) + "0a626869");
        Assert.Equal(expected, CommandCodec.Encode(command));
        Assert.Equal(command.SentAt, CommandCodec.Decode(expected).SentAt);
    }

    [Fact]
    public void Unknown_keys_from_16_are_skipped_whatever_they_hold()
    {
        var body = Body(1, (10, w => w.WriteTextString("text")), (16, w =>
        {
            w.WriteStartMap(2);
            w.WriteUInt32(0);
            w.WriteStartArray(3);
            w.WriteInt32(-5);
            w.WriteBoolean(true);
            w.WriteNull();
            w.WriteEndArray();
            w.WriteUInt32(1);
            w.WriteByteString([1, 2]);
            w.WriteEndMap();
        }
        ), (1000, w => w.WriteTextString("later")));
        Assert.Equal("text", Assert.IsType<Message>(CommandCodec.Decode(body)).Text);
    }

    public static TheoryData<string, byte[]> Refused => new()
    {
        { "not a map", [0x80] },
        { "trailing bytes", [.. Body(5), 0x00] },
        { "no type", Body(null, (1, w => w.WriteByteString(Id))) },
        { "missing common field", Body(5, skipCommon: 2) },
        { "missing required field", Body(1) },
        { "key 5 (not defined)", Body(5, (5, w => w.WriteUInt32(0))) },
        { "key 12 on a message", Body(1, (10, w => w.WriteTextString("x")), (12, w => w.WriteTextString("name"))) },
        { "text where bytes are due", Body(5, overrideId: w => w.WriteTextString("0123456789abcdef")) },
        { "an id of 15 bytes", Body(5, overrideId: w => w.WriteByteString(new byte[15])) },
        { "empty receipt", Body(2, (10, w => { w.WriteStartArray(0); w.WriteEndArray(); })) },
        { "name of 65 bytes", Body(4, (12, w => w.WriteTextString(new string('n', 65)))) },
        { "a card that is not one", Body(4, (13, w => { w.WriteStartArray(1); w.WriteByteString([1, 2, 3]); w.WriteEndArray(); })) },
        { "unknown value with a tag", Body(5, (16, w => { w.WriteTag(CborTag.DateTimeString); w.WriteTextString("2020"); })) },
        { "unknown value with a float", Body(5, (16, w => w.WriteDouble(1.5))) },
        { "unknown value with a text map key", Body(5, (16, w => { w.WriteStartMap(1); w.WriteTextString("k"); w.WriteUInt32(1); w.WriteEndMap(); })) },
        { "nesting deeper than 8", Body(5, (16, w => Nest(w, 7))) },
        { "a non-shortest integer", [.. Body(5)[..1], 0x18, 0x00, .. Body(5)[2..]] },
        { "keys out of order", Body(5, (17, w => w.WriteUInt32(0)), (16, w => w.WriteUInt32(0))) },
        { "a duplicate key", Body(5, (16, w => w.WriteUInt32(0)), (16, w => w.WriteUInt32(0))) },
        { "an indefinite-length map", [0xbf, .. Body(5)[1..], 0xff] },
        { "invalid UTF-8", Body(1, (10, w => w.WriteEncodedValue(new byte[] { 0x62, 0xc3, 0x28 }))) },
        { "ratchet key id above 2^32 - 1", Body(5, overrideKeyId: w => w.WriteUInt64(1UL << 32)) },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Anything_but_the_deterministic_documented_form_is_malformed(string why, byte[] body)
    {
        var e = Assert.Throws<EnvelopeException>(() => CommandCodec.Decode(body));
        Assert.True(e.Error == EnvelopeError.Malformed, $"{why}: {e.Error} {e.Message}");
    }

    [Fact]
    public void Nesting_of_exactly_8_is_accepted()
    {
        Assert.IsType<Terminated>(CommandCodec.Decode(Body(5, (16, w => Nest(w, 6)))));
    }

    [Fact]
    public void A_type_this_version_does_not_define_is_an_unknown_command()
    {
        var e = Assert.Throws<EnvelopeException>(() => CommandCodec.Decode(Body(12)));
        Assert.Equal(EnvelopeError.UnknownCommand, e.Error);
    }

    // arrays nested `levels` deep below the body's map and its value array
    private static void Nest(CborWriter w, int levels)
    {
        w.WriteStartArray(1);
        if (levels == 0)
        {
            w.WriteUInt32(0);
        }
        else
        {
            Nest(w, levels - 1);
        }

        w.WriteEndArray();
    }

    /// <summary>A body written in lax mode, so that tests can break any rule: the common fields then <paramref name="extra"/> in the order given.</summary>
    private static byte[] Body(
        int? type,
        params (ulong Key, Action<CborWriter> Value)[] extra) => Body(type, skipCommon: 0, null, null, extra);

    private static byte[] Body(
        int? type,
        int skipCommon = 0,
        Action<CborWriter>? overrideId = null,
        Action<CborWriter>? overrideKeyId = null,
        params (ulong Key, Action<CborWriter> Value)[] extra)
    {
        var entries = new List<(ulong Key, Action<CborWriter> Value)>();
        if (type is { } t)
        {
            entries.Add((0, w => w.WriteUInt32((uint)t)));
        }

        if (type is not null)
        {
            entries.Add((1, overrideId ?? (w => w.WriteByteString(Id))));
            entries.Add((2, w => w.WriteUInt64(1_800_000_000_000)));
            entries.Add((3, overrideKeyId ?? (w => w.WriteUInt32(0))));
            entries.Add((4, w => w.WriteByteString(Key)));
        }

        entries.RemoveAll(e => e.Key == (ulong)skipCommon && skipCommon != 0);
        entries.AddRange(extra);
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(entries.Count);
        foreach (var (key, value) in entries)
        {
            writer.WriteUInt64(key);
            value(writer);
        }

        writer.WriteEndMap();
        return writer.Encode();
    }
}
