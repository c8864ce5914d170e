using System.Buffers.Binary;
using System.Buffers.Text;

namespace EdgeRelay.Addressing.Tests;

public class AddressCardTests
{
    private static readonly byte[] ServiceKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly AddressId Aid = new(0x0102030405060708, 0x090a0b0c0d0e0f10);

    private static AddressCard Card(string endpoint = "relay.example:7443", params AddressCardExtension[] extensions) =>
        new(Aid, 1_800_000_000, ServiceKey, endpoint, extensions);

    [Fact]
    public void Binary_layout_is_as_specified()
    {
        var bytes = Card("h:1").ToArray();
        var expected = new List<byte> { 1 };
        expected.AddRange(Convert.FromHexString("0102030405060708090a0b0c0d0e0f10"));
        var expires = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(expires, 1_800_000_000);
        expected.AddRange(expires);
        expected.AddRange(ServiceKey);
        expected.Add(3);
        expected.AddRange("h:1"u8.ToArray());
        Assert.Equal(expected.ToArray(), bytes);
        Assert.Equal(bytes.Length, Card("h:1").GetEncodedLength());
    }

    [Fact]
    public void Binary_round_trip_keeps_every_field()
    {
        var card = Card("[2001:db8::1]:443", new AddressCardExtension(7, [1, 2, 3]), new AddressCardExtension(9, []));
        var decoded = AddressCard.Decode(card.ToArray());
        Assert.Equal(Aid, decoded.Aid);
        Assert.Equal(1_800_000_000, decoded.ExpiresAtUnixSeconds);
        Assert.Equal(ServiceKey, decoded.ServicePublicKey.ToArray());
        Assert.Equal("[2001:db8::1]:443", decoded.Endpoint);
        Assert.Equal(2, decoded.Extensions.Count);
        Assert.Equal(7, decoded.Extensions[0].Type);
        Assert.Equal(new byte[] { 1, 2, 3 }, decoded.Extensions[0].Value.ToArray());
        Assert.Equal(card.ToArray(), decoded.ToArray());
    }

    [Fact]
    public void Text_round_trip_uses_the_prefix_and_unpadded_base64url()
    {
        var card = Card("relais.exemple:7443");
        var text = card.ToString();
        Assert.StartsWith("edgerelay1:", text, StringComparison.Ordinal);
        Assert.DoesNotContain('=', text);
        Assert.DoesNotContain('+', text);
        Assert.DoesNotContain('/', text);
        var parsed = AddressCard.Parse(text);
        Assert.Equal(card.ToArray(), parsed.ToArray());
        Assert.True(AddressCard.TryParse(text, out var again));
        Assert.Equal(text, again.ToString());
    }

    [Fact]
    public void Non_ascii_endpoint_is_utf8_and_round_trips()
    {
        var card = Card("relais.exemplé:7443");
        Assert.Equal("relais.exemplé:7443", AddressCard.Parse(card.ToString()).Endpoint);
        Assert.Equal(20, card.ToArray()[57]); // é is two bytes
    }

    [Fact]
    public void Unknown_extension_types_are_skipped_and_later_fields_still_read()
    {
        // A card from a future writer: an unknown extension (type 200), then the planned type 1.
        var bytes = Card().ToArray().Concat(new byte[] { 200, 2, 0xAB, 0xCD, 1, 32 }).Concat(new byte[32]).ToArray();
        Assert.True(AddressCard.TryDecode(bytes, out var card, out var error), error);
        Assert.Equal("relay.example:7443", card.Endpoint);
        Assert.Equal([200, 1], card.Extensions.Select(e => e.Type));
    }

    [Fact]
    public void Truncated_cards_are_refused_with_a_message()
    {
        var bytes = Card().ToArray();
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(AddressCard.TryDecode(bytes.AsSpan(0, length), out var card, out var error), $"accepted {length} bytes");
            Assert.Null(card);
            Assert.False(string.IsNullOrWhiteSpace(error));
        }

        var ex = Assert.Throws<FormatException>(() => AddressCard.Decode(bytes.AsSpan(0, 40)));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_extension_is_refused()
    {
        var bytes = Card().ToArray();
        // Header only, header cut in half, value shorter than announced.
        Assert.Contains("extension", Error([.. bytes, 5]), StringComparison.Ordinal);
        Assert.Contains("truncated extension of type 5", Error([.. bytes, 5, 3, 1, 2]), StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => AddressCard.Decode([.. bytes, 5, 3, 1, 2]));
    }

    [Fact]
    public void Endpoint_over_255_bytes_is_refused_when_building()
    {
        var ex = Assert.Throws<ArgumentException>(() => Card(new string('a', 251) + ":7443"));
        Assert.Equal("endpoint", ex.ParamName);
        Assert.Contains("256 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Equal(255, Card(new string('a', 250) + ":7443").Endpoint.Length); // exactly 255 bytes is fine
    }

    [Theory]
    [InlineData("")]                   // empty
    [InlineData("relay.example")]      // no port
    [InlineData(":7443")]              // no host
    [InlineData("relay.example:0")]    // port 0
    [InlineData("relay.example:65536")] // port out of range
    [InlineData("relay.example:+80")]  // sign
    public void Bad_endpoints_are_refused(string endpoint) =>
        Assert.Throws<ArgumentException>(() => Card(endpoint));

    [Fact]
    public void Endpoint_length_zero_and_invalid_utf8_are_refused_when_decoding()
    {
        var bytes = Card("h:1").ToArray();
        var zero = (byte[])bytes.Clone();
        zero[57] = 0;
        Assert.Contains("empty", Error(zero[..58]), StringComparison.Ordinal);

        var badUtf8 = (byte[])bytes.Clone();
        badUtf8[58] = 0xFF;
        Assert.Contains("UTF-8", Error(badUtf8), StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_version_zero_aid_and_out_of_range_expiry_are_refused()
    {
        var bytes = Card().ToArray();
        var version = (byte[])bytes.Clone();
        version[0] = 2;
        Assert.Contains("version 2", Error(version), StringComparison.Ordinal);

        var zeroAid = (byte[])bytes.Clone();
        Array.Clear(zeroAid, 1, 16);
        Assert.Contains("all zeros", Error(zeroAid), StringComparison.Ordinal);

        var expiry = (byte[])bytes.Clone();
        expiry[17] = 0x80;
        Assert.Contains("expiry", Error(expiry), StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_input_is_refused_before_parsing()
    {
        var bytes = Card().ToArray().Concat(Enumerable.Repeat(new byte[] { 9, 255 }.Concat(new byte[255]), 10).SelectMany(x => x)).ToArray();
        Assert.Contains("longer", Error(bytes), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("edgerelay2:AAAA")]   // wrong prefix
    [InlineData("EDGERELAY1:AAAA")]   // prefix is case-sensitive
    [InlineData("edgerelay1:")]       // nothing after it
    [InlineData("edgerelay1:!!!!")]   // not base64url
    public void Bad_text_is_refused(string text)
    {
        Assert.False(AddressCard.TryParse(text, out _, out var error));
        Assert.NotNull(error);
        Assert.Throws<FormatException>(() => AddressCard.Parse(text));
    }

    [Fact]
    public void Padded_or_non_canonical_base64url_is_refused()
    {
        var bytes = Card().ToArray();
        var payload = Base64Url.EncodeToString(bytes);
        Assert.True(AddressCard.TryParse("edgerelay1:" + payload, out _));
        Assert.False(AddressCard.TryParse("edgerelay1:" + payload + "=", out _));
        Assert.False(AddressCard.TryParse("edgerelay1:" + payload[..10] + " " + payload[10..], out _));
        Assert.False(AddressCard.TryParse("edgerelay1:" + Convert.ToBase64String(bytes), out _)); // plain base64 padding
    }

    [Fact]
    public void Null_text_is_not_a_card() => Assert.False(AddressCard.TryParse(null, out _));

    private static string Error(byte[] bytes)
    {
        Assert.False(AddressCard.TryDecode(bytes, out _, out var error));
        return error;
    }
}
