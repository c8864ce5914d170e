using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests;

public sealed class InvitationTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Expiry = Now.AddDays(7);

    private readonly IdentityKeyPair _inviter = IdentityKeyPair.Generate();
    private readonly List<InvitationSecrets> _secrets = [];

    public void Dispose()
    {
        _inviter.Dispose();
        _secrets.ForEach(s => s.Dispose());
    }

    internal static AddressCard TypicalCard() =>
        new(new AddressId(0x0102030405060708, 0x090a0b0c0d0e0f10), Now.AddDays(30).ToUnixTimeSeconds(), new byte[32], "relay.example.org:7000");

    private Invitation Create(string name = "Alice", AddressCard? card = null)
    {
        var invitation = Invitation.Create(_inviter, name, card ?? TypicalCard(), Expiry, out var secrets);
        _secrets.Add(secrets);
        return invitation;
    }

    [Fact]
    public void An_invitation_round_trips_through_its_text_and_binary_forms()
    {
        var invitation = Create();

        var parsed = Invitation.Parse(invitation.ToString(), Now);
        var decoded = Invitation.Decode(invitation.ToArray(), Now);

        foreach (var read in new[] { parsed, decoded })
        {
            Assert.Equal(_inviter.Public, read.Inviter);
            Assert.Equal("Alice", read.Name);
            Assert.Equal(TypicalCard().ToArray(), read.Card.ToArray());
            Assert.Equal(Expiry, read.ExpiresAt);
            Assert.Equal(invitation.InvitationKey.ToArray(), read.InvitationKey.ToArray());
            Assert.Equal(invitation.Id.ToArray(), read.Id.ToArray());
            Assert.Equal(invitation.ToArray(), read.ToArray());
        }
    }

    [Fact]
    public void The_id_and_signature_are_as_specified()
    {
        var invitation = Create();
        var bytes = invitation.ToArray();
        var secret = bytes.AsSpan(98, 32);

        var id = SHA256.HashData([.. "EdgeRelay-RM-v1 invitation id"u8, .. secret])[..16];

        Assert.Equal(id, invitation.Id.ToArray());
        Assert.True(IdentityKeyPair.Verify(_inviter.Public.SigningKey, [.. "EdgeRelay-RM-v1 invitation"u8, .. bytes.AsSpan(0, bytes.Length - 64)], bytes.AsSpan(bytes.Length - 64)));
    }

    [Fact]
    public void The_secrets_hold_the_private_half_of_the_invitation_key_and_the_secret()
    {
        var invitation = Invitation.Create(_inviter, "Alice", TypicalCard(), Expiry, out var secrets);
        using var _ = secrets;
        using var key = NSec.Cryptography.Key.Import(NSec.Cryptography.KeyAgreementAlgorithm.X25519, secrets.InvitationPrivateKey, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);

        Assert.Equal(invitation.InvitationKey.ToArray(), key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey));
        Assert.Equal(invitation.Secret.ToArray(), secrets.Secret.ToArray());
        Assert.Same(invitation, secrets.Invitation);
    }

    [Fact]
    public void Two_invitations_share_no_key_secret_or_id()
    {
        var one = Create();
        var two = Create();

        Assert.NotEqual(one.InvitationKey.ToArray(), two.InvitationKey.ToArray());
        Assert.NotEqual(one.Secret.ToArray(), two.Secret.ToArray());
        Assert.NotEqual(one.Id.ToArray(), two.Id.ToArray());
    }

    [Fact]
    public void A_typical_invitation_is_405_characters()
    {
        // 205 fixed bytes + "Alice" (5) + an 80-byte card (22-byte endpoint, no extension) = 290 bytes;
        // base64url makes 387 characters, plus the 18-character prefix. docs/RM-PROTOCOL.md §3.2 quotes this figure.
        var text = Create().ToString();

        Assert.Equal(80, TypicalCard().GetEncodedLength());
        Assert.Equal(405, text.Length);
    }

    [Fact]
    public void The_longest_name_and_card_are_accepted()
    {
        var longest = new string('n', Invitation.MaxNameLength);
        var card = new AddressCard(new AddressId(1, 2), 1, new byte[32], "h:1", Enumerable.Range(0, 15).Select(i => new AddressCardExtension((byte)(100 + i), new byte[130])));
        var invitation = Create(longest, card);

        var parsed = Invitation.Parse(invitation.ToString(), Now);

        Assert.Equal(longest, parsed.Name);
        Assert.True(invitation.ToString().Length <= Invitation.MaxTextLength);
    }

    [Fact]
    public void An_expired_invitation_is_refused_from_its_expiry_on()
    {
        var text = Create().ToString();

        Invitation.Parse(text, Expiry.AddSeconds(-1));
        Assert.Equal(InvitationError.Expired, Refusal(() => Invitation.Parse(text, Expiry)));
        Assert.Equal(InvitationError.Expired, Refusal(() => Invitation.Parse(text, Expiry.AddYears(1))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("edgerelay1:AQID")] // an address card's prefix
    [InlineData("EDGERELAY-INVITE1:AQE")]
    [InlineData("edgerelay-invite1:")]
    [InlineData("edgerelay-invite1:AQE=")] // padded
    [InlineData("edgerelay-invite1:AQ*E")] // not base64url
    [InlineData("edgerelay-invite1:AQE+")] // base64, not base64url
    [InlineData("edgerelay-invite1:AQF")] // non-zero spare bits: not canonical
    [InlineData("edgerelay-invite1: AQE")] // whitespace the decoder would skip
    public void Text_that_is_not_an_invitation_is_malformed(string text) =>
        Assert.Equal(InvitationError.Malformed, Refusal(() => Invitation.Parse(text, Now)));

    [Fact]
    public void Text_longer_than_any_invitation_is_refused_before_decoding() =>
        Assert.Equal(InvitationError.Malformed, Refusal(() => Invitation.Parse(Invitation.TextPrefix + new string('A', Invitation.MaxTextLength), Now)));

    [Fact]
    public void Every_truncation_is_malformed()
    {
        var bytes = Create().ToArray();

        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.True(InvitationError.Malformed == Refusal(() => Invitation.Decode(bytes.AsSpan(0, length), Now)), $"length {length}");
        }
    }

    [Fact]
    public void An_unknown_version_or_suite_is_refused_before_anything_else()
    {
        var bytes = Create().ToArray();

        Assert.Equal(InvitationError.UnknownVersion, Refusal(() => Invitation.Decode(With(bytes, 0, 2), Now)));
        Assert.Equal(InvitationError.UnknownVersion, Refusal(() => Invitation.Decode([2], Now)));
        Assert.Equal(InvitationError.UnknownSuite, Refusal(() => Invitation.Decode(With(bytes, 1, 2), Now)));
        Assert.Equal(InvitationError.UnknownSuite, Refusal(() => Invitation.Decode([1, 0], Now)));
    }

    [Fact]
    public void Bytes_after_the_signature_are_refused()
    {
        var bytes = Create().ToArray();

        Assert.Equal(InvitationError.TrailingBytes, Refusal(() => Invitation.Decode([.. bytes, 0], Now)));
        Assert.Equal(InvitationError.TrailingBytes, Refusal(() => Invitation.Parse(Invitation.TextPrefix + Base64Url.EncodeToString([.. bytes, 0]), Now)));
    }

    [Fact]
    public void Every_field_altered_is_refused()
    {
        var invitation = Create();
        var bytes = invitation.ToArray();
        var nameLengthOffset = 138;
        var cardLengthOffset = 139 + 5;

        for (int i = 2; i < bytes.Length; i++)
        {
            var altered = With(bytes, i, (byte)(bytes[i] ^ 0x01));
            var error = Refusal(() => Invitation.Decode(altered, Now));
            if (i == nameLengthOffset || i == cardLengthOffset || i == cardLengthOffset + 1)
            {
                // A length changed moves every later field: the structure no longer adds up.
                Assert.True(error is InvitationError.Malformed or InvitationError.TrailingBytes or InvitationError.BadCard, $"byte {i}: {error}");
            }
            else
            {
                Assert.True(InvitationError.BadSignature == error, $"byte {i}: {error}");
            }
        }
    }

    [Fact]
    public void A_valid_invitation_signed_by_someone_else_is_refused()
    {
        using var mallory = IdentityKeyPair.Generate();
        var bytes = Create().ToArray();
        // Mallory keeps Alice's identity in the invitation but can only sign with her own key.
        Resign(bytes, mallory);

        Assert.Equal(InvitationError.BadSignature, Refusal(() => Invitation.Decode(bytes, Now)));
    }

    [Fact]
    public void A_name_over_64_bytes_is_refused_on_create_and_on_read()
    {
        Assert.Equal(InvitationError.NameTooLong, Refusal(() => Create(new string('n', 65))));
        Assert.Equal(InvitationError.NameTooLong, Refusal(() => Create(new string('é', 33)))); // 66 bytes of UTF-8

        var bytes = Create().ToArray();
        bytes[138] = 65;
        Assert.Equal(InvitationError.NameTooLong, Refusal(() => Invitation.Decode(bytes, Now)));
    }

    [Theory]
    [InlineData("Ali\u0007ce")]
    [InlineData("\u001b[2JAlice")] // a terminal escape
    [InlineData("Alice\u0085")]
    public void A_name_with_control_characters_is_refused_on_create(string name) =>
        Assert.Equal(InvitationError.BadName, Refusal(() => Create(name)));

    [Fact]
    public void A_signed_name_that_is_not_utf8_or_holds_a_control_character_is_refused()
    {
        var bytes = Create("Alice").ToArray();

        Assert.Equal(InvitationError.BadName, Refusal(() => Invitation.Decode(Resign(With(bytes, 139, 0xff), _inviter), Now)));
        Assert.Equal(InvitationError.BadName, Refusal(() => Invitation.Decode(Resign(With(bytes, 139, 0x1b), _inviter), Now)));
        Assert.Equal(InvitationError.BadName, Refusal(() => Create("\ud800")));
    }

    [Fact]
    public void A_card_of_length_zero_or_over_the_limit_is_refused()
    {
        var bytes = Create("").ToArray();

        Assert.Equal(InvitationError.BadCard, Refusal(() => Invitation.Decode(WithCardLength(bytes, 0), Now)));
        Assert.Equal(InvitationError.BadCard, Refusal(() => Invitation.Decode(WithCardLength(bytes, AddressCard.MaxEncodedLength + 1), Now)));
    }

    [Fact]
    public void A_signed_card_that_does_not_decode_is_refused()
    {
        var bytes = Create("").ToArray();
        var cardOffset = 139 + 2;
        bytes[cardOffset] = 9; // the card's version

        Assert.Equal(InvitationError.BadCard, Refusal(() => Invitation.Decode(Resign(bytes, _inviter), Now)));
    }

    [Fact]
    public void A_signed_expiry_past_the_year_9999_is_malformed()
    {
        var bytes = Create().ToArray();
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(130), 253_402_300_800);

        Assert.Equal(InvitationError.Malformed, Refusal(() => Invitation.Decode(Resign(bytes, _inviter), Now)));
    }

    internal static InvitationError? Refusal(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (InvitationException e)
        {
            return e.Error;
        }
    }

    private static InvitationError? Refusal(Func<object> action) => Refusal(() => { action(); });

    private static byte[] With(byte[] bytes, int index, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] = value;
        return copy;
    }

    private static byte[] WithCardLength(byte[] bytes, int length)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(139 + copy[138]), (ushort)length);
        return copy;
    }

    private static byte[] Resign(byte[] bytes, IdentityKeyPair signer)
    {
        var signatureOffset = bytes.Length - 64;
        signer.Sign([.. "EdgeRelay-RM-v1 invitation"u8, .. bytes.AsSpan(0, signatureOffset)], bytes.AsSpan(signatureOffset));
        return bytes;
    }
}
