using System.Buffers.Binary;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>
/// Builds a message envelope by hand from docs/RM-PROTOCOL.md §4 and §5.4, with whatever body,
/// inner plaintext or signer a test needs: what a faulty or hostile peer could send. It takes the
/// sender's next message number and key without changing the sender's state.
/// </summary>
internal static class Forge
{
    public static byte[] Message(
        RatchetState sender,
        PublicIdentity senderIdentity,
        IdentityKeyPair signer,
        PublicIdentity recipient,
        byte[] body,
        int size = 256,
        Action<byte[]>? alterInner = null)
    {
        var envelope = new byte[size];
        envelope[0] = 1;
        envelope[1] = 1;
        envelope[2] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(envelope.AsSpan(3), sender.PeerKeyId);
        BinaryPrimitives.WriteUInt32BigEndian(envelope.AsSpan(7), sender.SendNext);
        var header = envelope.AsSpan(0, 11);
        var enc = envelope.AsSpan(11, 32);
        var ciphertext = envelope.AsSpan(43);

        var inner = new byte[ciphertext.Length - 16];
        BinaryPrimitives.WriteUInt32BigEndian(inner, (uint)body.Length);
        body.CopyTo(inner, 4);
        alterInner?.Invoke(inner);

        var ephemeral = new byte[32];
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), ephemeral, enc);
        byte[] signed = [.. "EdgeRelay-RM-v1 signature"u8, .. recipient.SigningKey, .. header, .. enc, .. inner.AsSpan(0, inner.Length - 64)];
        signer.Sign(signed, inner.AsSpan(inner.Length - 64));

        var messageKey = new byte[32];
        var nextChainKey = new byte[32];
        Chain.Step(sender.SendChainKey, messageKey, nextChainKey);
        byte[] info = [.. "EdgeRelay-RM-v1 message"u8, .. senderIdentity.SigningKey, .. recipient.SigningKey];
        Assert.True(Hpke.SealPskWithEphemeralKey(ephemeral, sender.PeerKey, info, header.ToArray(), messageKey, "EdgeRelay-RM-v1 chain"u8, inner, enc, ciphertext));
        return envelope;
    }

    /// <summary>An introduction built by hand from §4 and §5.2, signed by <paramref name="signer"/>.</summary>
    public static byte[] Introduction(Pair p, IdentityKeyPair signer, byte[] body)
    {
        var envelope = new byte[1024];
        byte[] header = [1, 1, 1, .. p.InvitationId];
        header.CopyTo(envelope, 0);
        var enc = envelope.AsSpan(19, 32);
        var inner = new byte[1024 - 19 - 32 - 16];
        BinaryPrimitives.WriteUInt32BigEndian(inner, (uint)body.Length);
        body.CopyTo(inner, 4);
        var ephemeral = new byte[32];
        Hpke.DeriveKeyPair(Guid.NewGuid().ToByteArray(), ephemeral, enc);
        signer.Sign([.. "EdgeRelay-RM-v1 signature"u8, .. p.Alice.Public.SigningKey, .. header, .. enc, .. inner.AsSpan(0, inner.Length - 64)], inner.AsSpan(inner.Length - 64));
        byte[] info = [.. "EdgeRelay-RM-v1 introduction"u8, .. p.Alice.Public.SigningKey];
        Assert.True(Hpke.SealPskWithEphemeralKey(ephemeral, p.InvitationKey, info, header, p.InvitationSecret, p.InvitationId, inner, enc, envelope.AsSpan(51)));
        return envelope;
    }

    /// <summary>A body as the sender would write it, with its current ratchet key.</summary>
    public static byte[] Body(RatchetState sender, Command command) => Body(command, sender.Newest.Id, sender.Newest.Public);

    public static byte[] Body(Command command, uint ratchetKeyId, byte[] ratchetKey) =>
        CommandCodec.Encode(command with
        {
            Id = new CommandId(7, 7),
            SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000),
            RatchetKeyId = ratchetKeyId,
            RatchetKey = ratchetKey,
        });
}
