using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

public sealed class Suite1IntroductionTests : IDisposable
{
    private readonly Pair _p = new();

    public void Dispose() => _p.Dispose();

    [Fact]
    public void The_header_names_the_invitation_before_anything_is_opened()
    {
        Assert.True(Envelope.TryReadHeader(_p.Introduction.Bytes.Span, out var header));
        Assert.Equal(EnvelopeKind.Introduction, header.Kind);
        Assert.Equal(_p.InvitationId, header.InvitationId);
        // Two identity keys, a ratchet key and a card do not fit the 101 bytes of body a 256-byte one holds.
        Assert.Equal(1024, _p.Introduction.Bytes.Length);
    }

    [Fact]
    public void Another_invitations_introduction_is_refused_before_any_cryptography()
    {
        var otherId = (byte[])_p.InvitationId.Clone();
        otherId[0] ^= 1;
        Assert.Equal(EnvelopeError.UnknownInvitation, Refusal(otherId, _p.InvitationPrivateKey, _p.InvitationSecret, _p.Introduction.Bytes.ToArray()));
    }

    [Fact]
    public void A_wrong_secret_or_invitation_key_or_tampered_bytes_do_not_open()
    {
        var secret = (byte[])_p.InvitationSecret.Clone();
        secret[5] ^= 1;
        Assert.Equal(EnvelopeError.DoesNotOpen, Refusal(_p.InvitationId, _p.InvitationPrivateKey, secret, _p.Introduction.Bytes.ToArray()));

        var otherKey = new byte[32];
        EdgeRelay.Addressing.Hpke.DeriveKeyPair([1, 2, 3], otherKey, new byte[32]);
        Assert.Equal(EnvelopeError.DoesNotOpen, Refusal(_p.InvitationId, otherKey, _p.InvitationSecret, _p.Introduction.Bytes.ToArray()));

        foreach (var index in (int[])[20, 60, 255])
        {
            var tampered = _p.Introduction.Bytes.ToArray();
            tampered[index] ^= 0x80;
            Assert.Equal(EnvelopeError.DoesNotOpen, Refusal(_p.InvitationId, _p.InvitationPrivateKey, _p.InvitationSecret, tampered));
        }
    }

    [Fact]
    public void An_introduction_to_someone_else_does_not_open()
    {
        using var carol = IdentityKeyPair.Generate();
        var e = Assert.Throws<EnvelopeException>(() =>
            Suite1.OpenIntroduction(carol, _p.InvitationId, _p.InvitationPrivateKey, _p.InvitationSecret, _p.Introduction.Bytes.Span));
        Assert.Equal(EnvelopeError.DoesNotOpen, e.Error);
    }

    [Fact]
    public void A_message_is_not_an_introduction()
    {
        var message = _p.AliceSends(new Message("x"));
        Assert.Equal(EnvelopeError.WrongKind, Refusal(_p.InvitationId, _p.InvitationPrivateKey, _p.InvitationSecret, message));
    }

    [Fact]
    public void An_invitation_key_of_low_order_cannot_be_sealed_to()
    {
        var e = Assert.Throws<EnvelopeException>(() =>
            _p.Suite.SealIntroduction(_p.Bob, _p.Alice.Public, _p.InvitationId, new byte[32], _p.InvitationSecret, "Bob", [Pair.Card()]));
        Assert.Equal(EnvelopeError.BadRatchetKey, e.Error);
    }

    [Fact]
    public void An_introduction_too_large_for_any_envelope_is_refused()
    {
        var cards = Enumerable.Range(0, 200).Select(_ => Pair.Card()).ToArray();
        var e = Assert.Throws<EnvelopeException>(() =>
            _p.Suite.SealIntroduction(_p.Bob, _p.Alice.Public, _p.InvitationId, _p.InvitationKey, _p.InvitationSecret, "Bob", cards));
        Assert.Equal(EnvelopeError.TooLarge, e.Error);
    }

    [Fact]
    public void An_introduction_is_checked_against_the_identity_and_ratchet_key_in_its_own_body()
    {
        using var carol = IdentityKeyPair.Generate();
        var key0 = _p.BobState.Newest.Public;
        var bobs = Forge.Body(new Introduce(_p.Bob.Public, "Bob", [Pair.Card()]), 0, key0);

        // The forge follows the specification: Bob's own hand-made introduction opens.
        Assert.Equal("Bob", Suite1.OpenIntroduction(_p.Alice, _p.InvitationId, _p.InvitationPrivateKey, _p.InvitationSecret, Forge.Introduction(_p, _p.Bob, bobs)).Command.Name);

        Assert.Equal(EnvelopeError.BadSignature, Refusal(Forge.Introduction(_p, carol, bobs)));
        Assert.Equal(EnvelopeError.BadRatchetKey, Refusal(Forge.Introduction(_p, _p.Bob, Forge.Body(new Introduce(_p.Bob.Public, "Bob", [Pair.Card()]), 1, key0))));
        Assert.Equal(EnvelopeError.BadRatchetKey, Refusal(Forge.Introduction(_p, _p.Bob, Forge.Body(new Introduce(_p.Bob.Public, "Bob", [Pair.Card()]), 0, new byte[32]))));
        Assert.Equal(EnvelopeError.Malformed, Refusal(Forge.Introduction(_p, _p.Bob, Forge.Body(new Message("not an introduce"), 0, key0))));
    }

    private EnvelopeError Refusal(byte[] envelope) => Refusal(_p.InvitationId, _p.InvitationPrivateKey, _p.InvitationSecret, envelope);

    private EnvelopeError Refusal(byte[] invitationId, byte[] privateKey, byte[] secret, byte[] envelope) =>
        Assert.Throws<EnvelopeException>(() => Suite1.OpenIntroduction(_p.Alice, invitationId, privateKey, secret, envelope)).Error;
}
