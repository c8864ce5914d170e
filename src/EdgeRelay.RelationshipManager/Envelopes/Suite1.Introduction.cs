using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

// The introduction (§5.2): the acceptor seals to the invitation key IP with the invitation's secret
// as psk; both sides export the two chains' first keys from that HPKE context.
public sealed partial class Suite1
{
    private const int RootLength = 2 * Chain.KeyLength;

    private static ReadOnlySpan<byte> IntroductionInfo => "EdgeRelay-RM-v1 introduction"u8;

    private static ReadOnlySpan<byte> ChainsContext => "EdgeRelay-RM-v1 chains"u8;

    /// <summary>
    /// The acceptor's side: seals an introduction of <paramref name="acceptor"/> to the inviter, and
    /// starts the relationship's state with this side's ratchet key 0 and the invitation key as the
    /// inviter's key 0.
    /// </summary>
    /// <param name="invitationId">16 bytes, the invitation's id (§3).</param>
    /// <param name="invitationKey">IP.pub, 32 bytes.</param>
    /// <param name="invitationSecret">32 bytes.</param>
    /// <param name="name">The acceptor's preferred name, at most 64 bytes of UTF-8.</param>
    /// <param name="cards">At least one card where the acceptor receives.</param>
    /// <exception cref="EnvelopeException">TooLarge, or BadRatchetKey for an invitation key nothing can be sealed to.</exception>
    public SealedIntroduction SealIntroduction(
        IdentityKeyPair acceptor,
        PublicIdentity inviter,
        ReadOnlySpan<byte> invitationId,
        ReadOnlySpan<byte> invitationKey,
        ReadOnlySpan<byte> invitationSecret,
        string name,
        IReadOnlyList<AddressCard> cards)
    {
        CheckInvitationLengths(invitationId, invitationSecret);
        if (invitationKey.Length != Hpke.PublicKeyLength)
        {
            throw new ArgumentException("An invitation key is 32 bytes.", nameof(invitationKey));
        }

        if (!Hpke.IsUsablePublicKey(invitationKey))
        {
            EnvelopeException.Throw(EnvelopeError.BadRatchetKey, "The invitation key is a low-order point.");
        }

        var key0 = NewOwnKey(0);
        Span<byte> root = stackalloc byte[RootLength];
        try
        {
            var sent = (Introduce)Fill(new Introduce(acceptor.Public, name, cards), key0);
            var body = CommandCodec.Encode(sent);
            var size = SizeOrThrow(EnvelopeKind.Introduction, body.Length);
            Span<byte> header = stackalloc byte[Envelope.IntroductionHeaderLength];
            WritePrefix(header, EnvelopeKind.Introduction);
            invitationId.CopyTo(header[3..]);

            var bytes = BuildEnvelope(size, header, acceptor, inviter.SigningKey, invitationKey,
                IntroductionInfoFor(inviter), invitationSecret, invitationId, body, ChainsContext, root);
            var state = RatchetState.Create(key0, peerReachedNewest: false, invitationKey,
                sendChainKey: root[..Chain.KeyLength], receiveChainKey: root[Chain.KeyLength..]);
            key0 = null;
            return new SealedIntroduction(bytes, sent, state);
        }
        finally
        {
            key0?.Dispose();
            CryptographicOperations.ZeroMemory(root);
        }
    }

    /// <summary>
    /// The inviter's side: opens an introduction to its invitation and verifies it, and starts the
    /// relationship's state with the invitation key as this side's ratchet key 0.
    /// </summary>
    /// <param name="invitationPrivateKey">IP's private key, 32 bytes.</param>
    /// <exception cref="EnvelopeException">UnknownInvitation for another invitation's introduction, or any
    /// refusal of an envelope (§4.3). Accepting at most one introduction per invitation is the caller's part.</exception>
    public static OpenedIntroduction OpenIntroduction(
        IdentityKeyPair inviter,
        ReadOnlySpan<byte> invitationId,
        ReadOnlySpan<byte> invitationPrivateKey,
        ReadOnlySpan<byte> invitationSecret,
        ReadOnlySpan<byte> envelope)
    {
        CheckInvitationLengths(invitationId, invitationSecret);
        var header = Envelope.ReadHeader(envelope);
        if (header.Kind != EnvelopeKind.Introduction)
        {
            EnvelopeException.Throw(EnvelopeError.WrongKind, "A message is opened with Open.");
        }

        if (!CryptographicOperations.FixedTimeEquals(header.InvitationId, invitationId))
        {
            EnvelopeException.Throw(EnvelopeError.UnknownInvitation, "The introduction is for another invitation.");
        }

        var ip = (invitationPrivateKey.Length == Hpke.PrivateKeyLength ? RatchetState.OwnKey.TryCreate(0, invitationPrivateKey) : null)
            ?? throw new ArgumentException("Not a usable 32-byte X25519 private key.", nameof(invitationPrivateKey));
        Span<byte> root = stackalloc byte[RootLength];
        byte[]? inner = null;
        try
        {
            var headerBytes = envelope[..Envelope.IntroductionHeaderLength];
            inner = OpenEnvelope(envelope, Envelope.IntroductionHeaderLength, ip, IntroductionInfoFor(inviter.Public),
                invitationSecret, invitationId, ChainsContext, root);
            var body = InnerPlaintext.Body(inner);
            if (CommandCodec.Decode(body) is not Introduce introduce)
            {
                throw new EnvelopeException(EnvelopeError.Malformed, "An introduction's body is not an introduce command.");
            }

            // The acceptor's signing key is only known from the body, so it is verified after decoding.
            VerifySignature(introduce.Identity.SigningKey, inviter.Public.SigningKey, headerBytes, envelope, inner);
            if (introduce.RatchetKeyId != 0 || !Hpke.IsUsablePublicKey(introduce.RatchetKey.Span))
            {
                EnvelopeException.Throw(EnvelopeError.BadRatchetKey, "An introduction announces a usable ratchet key 0.");
            }

            // The introduction was sealed to IP, this side's newest key: the first reply steps (§5.3).
            var state = RatchetState.Create(ip, peerReachedNewest: true, introduce.RatchetKey.Span,
                sendChainKey: root[Chain.KeyLength..], receiveChainKey: root[..Chain.KeyLength]);
            ip = null;
            return new OpenedIntroduction(introduce, introduce.Identity, state);
        }
        finally
        {
            ip?.Dispose();
            CryptographicOperations.ZeroMemory(root);
            CryptographicOperations.ZeroMemory(inner);
        }
    }

    private static void CheckInvitationLengths(ReadOnlySpan<byte> invitationId, ReadOnlySpan<byte> invitationSecret)
    {
        if (invitationId.Length != Envelope.InvitationIdLength || invitationSecret.Length != 32)
        {
            throw new ArgumentException("An invitation id is 16 bytes and its secret 32.");
        }
    }

    private static byte[] IntroductionInfoFor(PublicIdentity inviter) => [.. IntroductionInfo, .. inviter.SigningKey];
}
