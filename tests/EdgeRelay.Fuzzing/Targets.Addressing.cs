using System.Text;
using EdgeRelay.Addressing;

namespace EdgeRelay.Fuzzing;

// Address cards and ephemeral addresses (src/EdgeRelay.Addressing): both come from strangers.
public static partial class Targets
{
    private static readonly byte[] ServicePrivateKey = Bytes(32, 0x40);

    private static readonly byte[] ServicePublicKey = PublicKeyOf(ServicePrivateKey);

    private static IEnumerable<FuzzTarget> Addressing()
    {
        // Binary form: decoding is strict, so an accepted card encodes back to exactly its input; Decode throws
        // FormatException exactly where TryDecode refuses.
        yield return new FuzzTarget("address-card", data =>
        {
            var accepted = AddressCard.TryDecode(data, out var card, out var error);
            OracleException.Check(accepted == (error is null), "address-card: an error with a card, or neither");
            OracleException.Check(accepted == Throws<FormatException>(() => AddressCard.Decode(data)) is false, "address-card: Decode and TryDecode disagree");
            if (card is not null)
            {
                OracleException.Check(card.ToArray().AsSpan().SequenceEqual(data), "address-card: the accepted card encodes to other bytes");
                OracleException.Check(AddressCard.TryParse(card.ToString(), out var parsed) && parsed.ToArray().AsSpan().SequenceEqual(data),
                    "address-card: its text form does not parse back");
            }

            return accepted;
        }, () => Cards().Select(c => c.ToArray()));

        // Text form, the bytes read as Latin-1 so that every byte is one character.
        yield return new FuzzTarget("address-card-text", data =>
        {
            var text = Encoding.Latin1.GetString(data);
            var accepted = AddressCard.TryParse(text, out var card, out _);
            OracleException.Check(accepted == Throws<FormatException>(() => AddressCard.Parse(text)) is false, "address-card-text: Parse and TryParse disagree");
            OracleException.Check(card is null || card.ToString() == text, "address-card-text: the accepted text is not the card's own");
            return accepted;
        }, () => Cards().Select(c => Encoding.Latin1.GetBytes(c.ToString())));

        // An opened address re-sealed to the same key opens to the same aid and expiry.
        yield return new FuzzTarget("ephemeral-address", data =>
        {
            var opened = EphemeralAddress.TryOpen(ServicePrivateKey, data, out var aid, out var notAfter);
            OracleException.Check(!opened || EphemeralAddress.IsWellFormed(data), "ephemeral-address: opened an address that is not well formed");
            if (opened)
            {
                var again = new byte[EphemeralAddress.Length];
                EphemeralAddress.Derive(ServicePublicKey, aid, notAfter, again);
                OracleException.Check(EphemeralAddress.TryOpen(ServicePrivateKey, again, out var aid2, out var notAfter2) && aid2 == aid && notAfter2 == notAfter,
                    "ephemeral-address: re-sealed, it opens to something else");
            }

            return opened;
        }, () => [Ephemeral(Aid, 1_900_000_000), Ephemeral(new AddressId(1, 2), 0)]);
    }

    private static IEnumerable<AddressCard> Cards()
    {
        yield return new AddressCard(Aid, 1_900_000_000, ServicePublicKey, "relay.example:7443");
        yield return new AddressCard(Aid, 1_900_000_000, ServicePublicKey, "[::1]:7443", [new AddressCardExtension(1, Bytes(32, 5)), new AddressCardExtension(200, [])]);
    }

    private static byte[] Ephemeral(AddressId aid, long notAfter)
    {
        var bytes = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(ServicePublicKey, aid, notAfter, bytes);
        return bytes;
    }

    private static byte[] PublicKeyOf(byte[] privateKey)
    {
        using var key = ServiceKey.FromPrivateKey(privateKey);
        return key.PublicKey.ToArray();
    }

    /// <summary>True if <paramref name="action"/> throws <typeparamref name="T"/>; any other exception goes on (a crash).</summary>
    private static bool Throws<T>(Action action)
        where T : Exception
    {
        try
        {
            action();
            return false;
        }
        catch (T)
        {
            return true;
        }
    }
}
