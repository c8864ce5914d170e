using System.Security.Cryptography;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

// What introductions and messages share: the envelope around a signed, padded inner plaintext.
public sealed partial class Suite1
{
    private static void WritePrefix(Span<byte> header, EnvelopeKind kind)
    {
        header[0] = Envelope.Version;
        header[1] = Envelope.Suite;
        header[2] = (byte)kind;
    }

    private static int SizeOrThrow(EnvelopeKind kind, int bodyLength)
    {
        var size = Envelope.SizeFor(kind, bodyLength);
        if (size == 0)
        {
            EnvelopeException.Throw(EnvelopeError.TooLarge, $"A body of {bodyLength} bytes is longer than the {Envelope.MaxBodyLength(kind)} an envelope holds.");
        }

        return size;
    }

    private static void VerifySignature(ReadOnlySpan<byte> senderSigningKey, ReadOnlySpan<byte> recipientSigningKey, ReadOnlySpan<byte> header, ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> inner)
    {
        var enc = envelope.Slice(header.Length, Hpke.EncapsulatedKeyLength);
        var signed = InnerPlaintext.SignedData(recipientSigningKey, header, enc, inner);
        if (!IdentityKeyPair.Verify(senderSigningKey, signed, inner[^Envelope.SignatureLength..]))
        {
            EnvelopeException.Throw(EnvelopeError.BadSignature, "The signature is not the sender's.");
        }
    }

    private Command Fill(Command command, RatchetState.OwnKey ratchetKey)
    {
        Span<byte> id = stackalloc byte[CommandId.Length];
        _random(id);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return command with
        {
            Id = CommandId.Read(id),
            SentAt = DateTimeOffset.FromUnixTimeMilliseconds(now),
            RatchetKeyId = ratchetKey.Id,
            RatchetKey = ratchetKey.Public.ToArray(),
        };
    }

    private RatchetState.OwnKey NewOwnKey(uint id)
    {
        Span<byte> privateKey = stackalloc byte[Hpke.PrivateKeyLength];
        try
        {
            while (true)
            {
                _random(privateKey);
                if (RatchetState.OwnKey.TryCreate(id, privateKey) is { } key)
                {
                    return key;
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    // The ephemeral key is chosen before sealing because the signature inside covers enc.
    private byte[] BuildEnvelope(
        int size,
        ReadOnlySpan<byte> header,
        IdentityKeyPair sender,
        ReadOnlySpan<byte> recipientSigningKey,
        ReadOnlySpan<byte> recipientKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> body,
        ReadOnlySpan<byte> exporterContext,
        Span<byte> exported)
    {
        var envelope = new byte[size];
        header.CopyTo(envelope);
        var enc = envelope.AsSpan(header.Length, Hpke.EncapsulatedKeyLength);
        var ciphertext = envelope.AsSpan(header.Length + Hpke.EncapsulatedKeyLength);
        var inner = new byte[ciphertext.Length - Hpke.TagLength];
        Span<byte> ephemeralKey = stackalloc byte[Hpke.PrivateKeyLength];
        try
        {
            do
            {
                _random(ephemeralKey);
            }
            while (!Hpke.TryComputePublicKey(ephemeralKey, enc));

            InnerPlaintext.Write(inner, body);
            sender.Sign(InnerPlaintext.SignedData(recipientSigningKey, header, enc, inner), inner.AsSpan(inner.Length - Envelope.SignatureLength));
            if (!Hpke.SealPskWithEphemeralKey(ephemeralKey, recipientKey, info, header, psk, pskId, inner, enc, ciphertext, exporterContext, exported))
            {
                EnvelopeException.Throw(EnvelopeError.BadRatchetKey, "The recipient's key is a low-order point.");
            }

            return envelope;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeralKey);
            CryptographicOperations.ZeroMemory(inner);
        }
    }

    /// <summary>The inner plaintext, or DoesNotOpen. The caller zeroes it.</summary>
    private static byte[] OpenEnvelope(
        ReadOnlySpan<byte> envelope,
        int headerLength,
        RatchetState.OwnKey key,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> exporterContext,
        Span<byte> exported)
    {
        var ciphertext = envelope[(headerLength + Hpke.EncapsulatedKeyLength)..];
        var inner = new byte[ciphertext.Length - Hpke.TagLength];
        if (!Hpke.OpenPsk(key.Private, key.Public, envelope.Slice(headerLength, Hpke.EncapsulatedKeyLength), info,
            envelope[..headerLength], psk, pskId, ciphertext, inner, exporterContext, exported))
        {
            EnvelopeException.Throw(EnvelopeError.DoesNotOpen, "The envelope does not open: altered, or not sealed to this key.");
        }

        return inner;
    }
}
