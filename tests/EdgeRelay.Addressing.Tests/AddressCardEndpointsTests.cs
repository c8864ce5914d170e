using System.Text;

namespace EdgeRelay.Addressing.Tests;

/// <summary>Alternative endpoints (extension type 2): encoding, the refusals, and what a decoder that predates them reads.</summary>
public class AddressCardEndpointsTests
{
    private static readonly byte[] ServiceKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly AddressId Aid = new(0x0102030405060708, 0x090a0b0c0d0e0f10);

    private static AddressCard Card(string endpoint, params AddressCardExtension[] extensions) =>
        new(Aid, 1_800_000_000, ServiceKey, endpoint, extensions);

    [Fact]
    public void Alternatives_round_trip_in_order_after_the_main_endpoint()
    {
        var pin = new AddressCardExtension(1, new byte[32]);
        var card = Card("a.example:7400", pin, AddressCard.AlternativeEndpoint("b.example:7400"), AddressCard.AlternativeEndpoint("[2001:db8::2]:7400"));
        var decoded = AddressCard.Parse(card.ToString());
        Assert.Equal(["b.example:7400", "[2001:db8::2]:7400"], decoded.AlternativeEndpoints);
        Assert.Equal(["a.example:7400", "b.example:7400", "[2001:db8::2]:7400"], decoded.Endpoints);
        Assert.Equal(card.ToArray(), decoded.ToArray());

        // Each is one extension: type 2, the UTF-8 length, the text.
        var tail = card.ToArray()[^(2 + 14 + 2 + 18)..];
        Assert.Equal([2, 14, .. "b.example:7400"u8.ToArray(), 2, 18, .. "[2001:db8::2]:7400"u8.ToArray()], tail);
    }

    [Fact]
    public void A_card_without_alternatives_names_its_main_endpoint_only()
    {
        var card = Card("a.example:7400");
        Assert.Empty(card.AlternativeEndpoints);
        Assert.Equal(["a.example:7400"], card.Endpoints);
    }

    [Fact]
    public void Eight_alternatives_are_accepted_and_a_ninth_is_refused_when_building_and_decoding()
    {
        var eight = Enumerable.Range(1, AddressCard.MaxAlternativeEndpoints).Select(i => AddressCard.AlternativeEndpoint($"n{i}.example:7400")).ToArray();
        var card = Card("a.example:7400", eight);
        Assert.Equal(8, AddressCard.Decode(card.ToArray()).AlternativeEndpoints.Count);

        var ninth = new AddressCardExtension(2, "n9.example:7400"u8);
        var ex = Assert.Throws<ArgumentException>(() => Card("a.example:7400", [.. eight, ninth]));
        Assert.Contains("more than 8 alternative endpoints", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than 8 alternative endpoints", Error([.. card.ToArray(), 2, 15, .. "n9.example:7400"u8.ToArray()]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a.example:7400")]  // the main endpoint again
    [InlineData("A.EXAMPLE:7400")]  // the same, in other case: local delivery compares ignoring case
    [InlineData("b.example:7400")]  // the first alternative again
    public void An_endpoint_named_twice_is_refused(string repeated)
    {
        var extensions = new[] { AddressCard.AlternativeEndpoint("b.example:7400"), AddressCard.AlternativeEndpoint(repeated) };
        Assert.Contains("named twice", Assert.Throws<ArgumentException>(() => Card("a.example:7400", extensions)).Message, StringComparison.Ordinal);
        var bytes = Card("a.example:7400", extensions[0]).ToArray();
        Assert.Contains("named twice", Error([.. bytes, 2, (byte)Encoding.UTF8.GetByteCount(repeated), .. Encoding.UTF8.GetBytes(repeated)]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { })]                             // empty
    [InlineData(new byte[] { (byte)'h' })]                   // no port
    [InlineData(new byte[] { (byte)'h', (byte)':', (byte)'0' })] // port 0
    [InlineData(new byte[] { 0xFF, (byte)':', (byte)'1' })]  // not UTF-8
    public void A_malformed_alternative_is_refused_when_decoding(byte[] value)
    {
        var bytes = Card("a.example:7400").ToArray();
        Assert.Contains("alternative endpoint", Error([.. bytes, 2, (byte)value.Length, .. value]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-port")]
    [InlineData("h:65536")]
    public void A_malformed_alternative_is_refused_when_building(string endpoint) =>
        Assert.Throws<ArgumentException>(() => AddressCard.AlternativeEndpoint(endpoint));

    [Fact]
    public void Alternatives_count_against_the_card_length_limit()
    {
        // Eight alternatives of 255 bytes beside a 255-byte main endpoint are over 2048 bytes: refused as too long.
        var eight = Enumerable.Range(1, 8).Select(i => AddressCard.AlternativeEndpoint(new string((char)('a' + i), 250) + ":7400")).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => Card(new string('a', 250) + ":7400", eight));
        Assert.Contains("more than 2048 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Starting_at_an_alternative_names_it_first_and_keeps_everything_else()
    {
        var pin = new AddressCardExtension(1, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var card = Card("a.example:7400", pin, AddressCard.AlternativeEndpoint("b.example:7400"), new AddressCardExtension(9, [1]), AddressCard.AlternativeEndpoint("c.example:7400"));

        var fromB = card.StartingAt("b.example:7400");
        Assert.Equal(["b.example:7400", "a.example:7400", "c.example:7400"], fromB.Endpoints);
        Assert.Equal((card.Aid, card.ExpiresAtUnixSeconds), (fromB.Aid, fromB.ExpiresAtUnixSeconds));
        Assert.Equal(card.ServicePublicKey.ToArray(), fromB.ServicePublicKey.ToArray());
        Assert.Equal([1, 9, 2, 2], fromB.Extensions.Select(e => e.Type));
        Assert.Equal(pin.Value.ToArray(), fromB.Extensions[0].Value.ToArray());
        Assert.Equal(["c.example:7400", "a.example:7400", "b.example:7400"], card.StartingAt("c.example:7400").Endpoints);
        Assert.Same(card, card.StartingAt("a.example:7400"));
        Assert.Throws<ArgumentException>(() => card.StartingAt("d.example:7400"));
    }

    [Fact]
    public void A_decoder_that_skips_type_2_reads_the_main_endpoint_and_the_pin()
    {
        var pin = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var card = Card("a.example:7400", AddressCard.AlternativeEndpoint("b.example:7400"), new AddressCardExtension(1, pin), AddressCard.AlternativeEndpoint("c.example:7400"));
        var (endpoint, readPin) = OldDecoder.Read(card.ToArray());
        Assert.Equal("a.example:7400", endpoint);
        Assert.Equal(pin, readPin);
    }

    private static string Error(byte[] bytes)
    {
        Assert.False(AddressCard.TryDecode(bytes, out _, out var error));
        return error;
    }

    /// <summary>
    /// A card reader written to the text of section 6.1 before type 2 existed: it knows the fixed fields, the
    /// endpoint and extension 1, and skips every other extension by its length, as that text requires.
    /// </summary>
    private static class OldDecoder
    {
        public static (string Endpoint, byte[]? Pin) Read(ReadOnlySpan<byte> card)
        {
            Assert.Equal(1, card[0]);
            var rest = card[(1 + 16 + 8 + 32)..];
            var endpoint = Encoding.UTF8.GetString(rest.Slice(1, rest[0]));
            rest = rest[(1 + rest[0])..];
            byte[]? pin = null;
            while (!rest.IsEmpty)
            {
                var (type, length) = (rest[0], rest[1]);
                if (type == 1)
                {
                    pin = rest.Slice(2, length).ToArray();
                }

                rest = rest[(2 + length)..];
            }

            return (endpoint, pin);
        }
    }
}
