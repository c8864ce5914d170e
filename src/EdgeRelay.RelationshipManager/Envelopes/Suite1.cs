using System.Buffers.Binary;
using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>Fills a buffer with secret random bytes; replaced by fixed bytes in the test vectors.</summary>
internal delegate void RandomSource(Span<byte> buffer);

/// <summary>
/// Suite 1 of docs/RM-PROTOCOL.md §5: HPKE mode psk to the peer's current ratchet key with a
/// per-message key from a symmetric chain, and an Ed25519 signature inside. Seals and opens the
/// commands of one relationship against its <see cref="RatchetState"/>.
/// </summary>
/// <remarks>
/// Every refusal is an <see cref="EnvelopeException"/>; a refused envelope leaves the state exactly
/// as it was (the receiver works on copies and commits only after the signature and the body have
/// been checked), so the next good message still opens. The caller persists the state after each
/// successful call.
/// </remarks>
public sealed partial class Suite1
{
    private readonly TimeProvider _time;
    private readonly RandomSource _random;

    /// <param name="time">The clock of the commands' sent-at field; the system clock by default.</param>
    public Suite1(TimeProvider? time = null)
        : this(time ?? TimeProvider.System, RandomNumberGenerator.Fill)
    {
    }

    internal Suite1(TimeProvider time, RandomSource random)
    {
        _time = time;
        _random = random;
    }

    private static ReadOnlySpan<byte> MessageInfo => "EdgeRelay-RM-v1 message"u8;

    private static ReadOnlySpan<byte> ChainPskId => "EdgeRelay-RM-v1 chain"u8;

    /// <summary>
    /// Seals <paramref name="command"/> (any but <see cref="Introduce"/>) to the peer's current ratchet
    /// key, first creating this side's next ratchet key if the peer has used the newest one (§5.3).
    /// </summary>
    /// <exception cref="EnvelopeException">TooLarge (the body fits no envelope) or ChainExhausted; the state is unchanged.</exception>
    public SealedEnvelope Seal(RatchetState state, IdentityKeyPair sender, PublicIdentity recipient, Command command)
    {
        state.ThrowIfDisposed();
        if (command is Introduce)
        {
            throw new ArgumentException("An introduce command travels only in an introduction.", nameof(command));
        }

        if (state.SendNext == uint.MaxValue)
        {
            EnvelopeException.Throw(EnvelopeError.ChainExhausted, "This direction's chain has no message number left.");
        }

        RatchetState.OwnKey? created = null;
        Span<byte> messageKey = stackalloc byte[Chain.KeyLength];
        Span<byte> nextChainKey = stackalloc byte[Chain.KeyLength];
        try
        {
            var current = state.Newest;
            if (state.PeerReachedNewest)
            {
                created = NewOwnKey(checked(current.Id + 1));
                current = created;
            }

            var sent = Fill(command, current);
            var body = CommandCodec.Encode(sent);
            var size = SizeOrThrow(EnvelopeKind.Message, body.Length);

            Span<byte> header = stackalloc byte[Envelope.MessageHeaderLength];
            WritePrefix(header, EnvelopeKind.Message);
            BinaryPrimitives.WriteUInt32BigEndian(header[3..], state.PeerKeyId);
            BinaryPrimitives.WriteUInt32BigEndian(header[7..], state.SendNext);

            Chain.Step(state.SendChainKey, messageKey, nextChainKey);
            var bytes = BuildEnvelope(size, header, sender, recipient.SigningKey, state.PeerKey,
                MessageInfoFor(sender.Public, recipient), messageKey, ChainPskId, body, [], []);

            if (created is not null)
            {
                state.AddOwnKey(created);
                created = null;
            }

            nextChainKey.CopyTo(state.SendChainKey);
            state.SendNext++;
            return new SealedEnvelope(bytes, sent);
        }
        finally
        {
            created?.Dispose();
            CryptographicOperations.ZeroMemory(messageKey);
            CryptographicOperations.ZeroMemory(nextChainKey);
        }
    }

    /// <summary>
    /// Opens a message (kind 2) from <paramref name="sender"/> and verifies it (no clock, no randomness: static); on success the state
    /// advances (chain, skipped keys, the peer's ratchet key), on any refusal it is unchanged.
    /// </summary>
    /// <exception cref="EnvelopeException">Any code of §4.3 but TooLarge, UnknownInvitation, BadState and ChainExhausted.</exception>
    public static Command Open(RatchetState state, PublicIdentity sender, IdentityKeyPair recipient, ReadOnlySpan<byte> envelope)
    {
        state.ThrowIfDisposed();
        var header = Envelope.ReadHeader(envelope);
        if (header.Kind != EnvelopeKind.Message)
        {
            EnvelopeException.Throw(EnvelopeError.WrongKind, "An introduction is opened with OpenIntroduction.");
        }

        var own = state.FindOwnKey(header.RecipientKeyId);
        using var step = state.PrepareReceive(header.MessageNumber);
        var headerBytes = envelope[..Envelope.MessageHeaderLength];
        var inner = OpenEnvelope(envelope, Envelope.MessageHeaderLength, own, MessageInfoFor(sender, recipient.Public), step.MessageKey, ChainPskId, [], []);
        try
        {
            var body = InnerPlaintext.Body(inner);
            VerifySignature(sender.SigningKey, recipient.Public.SigningKey, headerBytes, envelope, inner);
            var command = CommandCodec.Decode(body);
            if (command is Introduce)
            {
                EnvelopeException.Throw(EnvelopeError.Malformed, "An introduce command in a message.");
            }

            var adopt = CheckPeerKey(state, command);
            state.CommitReceive(step);
            if (adopt)
            {
                state.PeerKeyId = command.RatchetKeyId;
                command.RatchetKey.Span.CopyTo(state.PeerKey);
            }

            if (header.RecipientKeyId == state.Newest.Id)
            {
                state.PeerReachedNewest = true;
            }

            return command;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(inner);
        }
    }

    // A key id above the known one is the peer's next key: adopted if usable. The same id must come
    // with the same key. A lower id is a late message written before the peer's last step: ignored.
    private static bool CheckPeerKey(RatchetState state, Command command)
    {
        var key = command.RatchetKey.Span;
        if (command.RatchetKeyId > state.PeerKeyId)
        {
            return Hpke.IsUsablePublicKey(key)
                || BadRatchetKey($"The peer's ratchet key {command.RatchetKeyId} is a low-order point.");
        }

        if (command.RatchetKeyId == state.PeerKeyId && !CryptographicOperations.FixedTimeEquals(key, state.PeerKey))
        {
            BadRatchetKey($"The peer's ratchet key {command.RatchetKeyId} changed.");
        }

        return false;
    }

    private static bool BadRatchetKey(string why) => throw new EnvelopeException(EnvelopeError.BadRatchetKey, why);

    private static byte[] MessageInfoFor(PublicIdentity sender, PublicIdentity recipient) =>
        [.. MessageInfo, .. sender.SigningKey, .. recipient.SigningKey];
}
