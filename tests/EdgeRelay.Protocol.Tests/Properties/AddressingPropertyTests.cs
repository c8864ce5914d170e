using System.Buffers.Text;
using EdgeRelay.Addressing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeRelay.Protocol.Tests.Properties;

/// <summary>Address cards (docs/PROTOCOL.md 6.1), binary and text, and the ephemeral addresses derived from them.</summary>
[Properties(MaxTest = 300)]
public class AddressingPropertyTests
{
    private static readonly Gen<Card> Cards =
        from aid in Gens.Aid.Where(aid => !aid.IsEmpty)
        from expires in Gens.Int64.Select(v => v & long.MaxValue)
        from key in Gens.BytesOf(Hpke.PublicKeyLength)
        from endpoint in Gens.HostAndPort
        from opaque in Gens.ArrayOf(
            from type in Gens.Byte.Where(type => type != AddressCard.AlternativeEndpointExtension) // type 2 has rules of its own
            from value in Gens.BytesOf(0, 40)
            select new Extension(type, value),
            0,
            4)
        from alternatives in Gens.ArrayOf(Gens.HostAndPort, 0, 3)
        let others = alternatives.Distinct(StringComparer.OrdinalIgnoreCase).Where(a => !string.Equals(a, endpoint, StringComparison.OrdinalIgnoreCase))
        select new Card(aid, expires, key, endpoint, opaque.Concat(others.Select(a => new Extension(AddressCard.AlternativeEndpointExtension, System.Text.Encoding.UTF8.GetBytes(a)))).ToArray());

    /// <summary>Cards as strangers hand them over: arbitrary bytes, and valid cards with a byte changed, cut short or extended.</summary>
    private static readonly Gen<byte[]> CardBytes = Gen.OneOf(Gens.AnyBytes, Cards.SelectMany(card => Gens.Mutated(card.ToAddressCard().ToArray())));

    /// <summary>A service key pair from generated key material, as the relay would hold one.</summary>
    private static readonly Gen<(byte[] Private, byte[] Public)> KeyPairs = Gens.BytesOf(32).Select(ikm =>
    {
        var privateKey = new byte[Hpke.PrivateKeyLength];
        var publicKey = new byte[Hpke.PublicKeyLength];
        Hpke.DeriveKeyPair(ikm, privateKey, publicKey);
        return (privateKey, publicKey);
    });

    private static readonly Gen<(byte[] Private, Card Card, long NotAfter)> Derivations =
        from keys in KeyPairs
        from card in Cards
        from notAfter in Gens.Int64.Select(v => Math.Min(v & long.MaxValue, card.ExpiresAtUnixSeconds))
        select (keys.Private, card with { ServiceKey = keys.Public }, notAfter);

    [Property]
    public Property A_card_decodes_back_to_its_fields_and_encodes_to_the_same_bytes() =>
        Prop.ForAll(Cards.ToArbitrary(), card =>
        {
            var bytes = card.ToAddressCard().ToArray();
            var decoded = AddressCard.Decode(bytes);
            Assert.Equal(card, Card.From(decoded));
            Assert.Equal(bytes, decoded.ToArray());
        });

    [Property]
    public Property A_card_parses_back_from_its_text() =>
        Prop.ForAll(Cards.ToArbitrary(), card =>
        {
            var text = card.ToAddressCard().ToString();
            Assert.True(AddressCard.TryParse(text, out var parsed, out var error), error);
            Assert.Equal(card, Card.From(parsed));
            Assert.Equal(text, parsed.ToString());
        });

    [Property]
    public Property Any_bytes_a_card_decodes_from_are_the_bytes_it_encodes_to_and_others_fail_with_format_exception() =>
        Prop.ForAll(CardBytes.ToArbitrary(), bytes =>
        {
            if (AddressCard.TryDecode(bytes, out var card, out var error))
            {
                Assert.Equal(bytes, card.ToArray());
                Assert.Equal(bytes, AddressCard.Decode(bytes).ToArray());
            }
            else
            {
                Assert.NotEmpty(error);
                Assert.Throws<FormatException>(() => AddressCard.Decode(bytes));
            }
        });

    [Property]
    public Property Any_text_a_card_parses_from_is_the_text_it_prints() =>
        Prop.ForAll(
            Gen.OneOf(
                CardBytes.Select(bytes => AddressCard.TextPrefix + Base64Url.EncodeToString(bytes)),
                CardBytes.Select(bytes => AddressCard.TextPrefix + Convert.ToBase64String(bytes)),
                ArbMap.Default.GeneratorFor<string>().Select(text => AddressCard.TextPrefix + text),
                ArbMap.Default.GeneratorFor<string>()).ToArbitrary(),
            text =>
            {
                if (AddressCard.TryParse(text, out var card, out var error))
                {
                    Assert.Equal(text, card.ToString());
                }
                else
                {
                    Assert.NotEmpty(error);
                }
            });

    [Property]
    public Property An_ephemeral_address_derived_from_a_card_opens_to_its_aid_and_not_after() =>
        Prop.ForAll(Derivations.ToArbitrary(), input =>
        {
            var (privateKey, card, notAfter) = input;
            var address = new byte[EphemeralAddress.Length];
            EphemeralAddress.Derive(card.ToAddressCard(), notAfter, address);

            Assert.True(EphemeralAddress.TryOpen(privateKey, address, out var aid, out var opened));
            Assert.Equal(card.Aid, aid);
            Assert.Equal(notAfter, opened);
        });

    [Property]
    public Property An_ephemeral_address_with_any_byte_changed_does_not_open() =>
        Prop.ForAll((from derivation in Derivations from at in Gen.Choose(0, EphemeralAddress.Length - 1) from flip in Gen.Choose(1, 255) select (derivation, at, flip)).ToArbitrary(), input =>
        {
            var ((privateKey, card, notAfter), at, flip) = input;
            var address = new byte[EphemeralAddress.Length];
            EphemeralAddress.Derive(card.ToAddressCard(), notAfter, address);
            address[at] ^= (byte)flip;

            Assert.False(EphemeralAddress.TryOpen(privateKey, address, out _, out _));
        });

    [Property]
    public Property Arbitrary_73_bytes_never_open_and_never_throw() =>
        Prop.ForAll((from keys in KeyPairs from version in Gen.Elements(EphemeralAddress.Version, (byte)0, (byte)2) from rest in Gens.BytesOf(EphemeralAddress.Length - 1) select (keys.Private, version, rest)).ToArbitrary(), input =>
        {
            var (privateKey, version, rest) = input;
            byte[] address = [version, .. rest];

            // Opening needs a valid tag under the key: 2^-128 for random bytes, so false is the only answer.
            Assert.False(EphemeralAddress.TryOpen(privateKey, address, out _, out _));
        });

    [Property]
    public Property Bytes_of_any_other_length_never_open_and_never_throw() =>
        Prop.ForAll(Gen.Zip(KeyPairs, Gens.AnyBytes.Where(bytes => bytes.Length != EphemeralAddress.Length)).ToArbitrary(), input =>
            Assert.False(EphemeralAddress.TryOpen(input.Item1.Private, input.Item2, out _, out _)));

    internal sealed record Extension(byte Type, Bytes Value);

    internal sealed record Card(AddressId Aid, long ExpiresAtUnixSeconds, Bytes ServiceKey, string Endpoint, Items<Extension> Extensions)
    {
        public static Card From(AddressCard card) => new(
            card.Aid,
            card.ExpiresAtUnixSeconds,
            card.ServicePublicKey.ToArray(),
            card.Endpoint,
            card.Extensions.Select(e => new Extension(e.Type, e.Value.ToArray())).ToArray());

        public AddressCard ToAddressCard() => new(
            Aid,
            ExpiresAtUnixSeconds,
            ServiceKey.Value,
            Endpoint,
            Extensions.Value.Select(e => new AddressCardExtension(e.Type, e.Value.Value)));
    }
}
