using System.Buffers.Binary;
using System.Security.Cryptography;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

// The RFC 9180 building blocks under both modes: DHKEM, the key schedule, the exporter and the
// labeled HKDF functions. Internal so that the RFC vectors can check every intermediate.
public static partial class Hpke
{
    /// <summary>RFC 9180 §4.1 Encap with the ephemeral key given. False if DH(skE, pkR) is all zeros.</summary>
    internal static bool Encap(
        ReadOnlySpan<byte> ephemeralPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        Span<byte> sharedSecret,
        Span<byte> encapsulatedKey)
    {
        CheckLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        CheckLength(encapsulatedKey, EncapsulatedKeyLength, nameof(encapsulatedKey));
        Span<byte> dh = stackalloc byte[Sodium.PointBytes];
        try
        {
            if (!Sodium.ScalarMult(dh, ephemeralPrivateKey, recipientPublicKey)
                || !Sodium.ScalarMultBase(encapsulatedKey, ephemeralPrivateKey))
            {
                sharedSecret.Clear();
                return false;
            }

            ExtractAndExpand(dh, encapsulatedKey, recipientPublicKey, sharedSecret);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>RFC 9180 §4.1 Decap. False if DH(skR, pkE) is all zeros (pkE of low order).</summary>
    internal static bool Decap(
        ReadOnlySpan<byte> encapsulatedKey,
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        Span<byte> sharedSecret)
    {
        CheckLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        Span<byte> dh = stackalloc byte[Sodium.PointBytes];
        try
        {
            if (!Sodium.ScalarMult(dh, recipientPrivateKey, encapsulatedKey))
            {
                sharedSecret.Clear();
                return false;
            }

            ExtractAndExpand(dh, encapsulatedKey, recipientPublicKey, sharedSecret);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
        }
    }

    /// <summary>
    /// RFC 9180 §5.1 KeyScheduleS/R: mode base when psk and psk_id are both empty, mode psk when both
    /// are given (VerifyPSKInputs). Optional outputs are computed only when their span is not empty;
    /// the last two exist for the test vectors.
    /// </summary>
    internal static void KeySchedule(
        ReadOnlySpan<byte> sharedSecret,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        Span<byte> key,
        Span<byte> baseNonce,
        Span<byte> exporterSecret,
        Span<byte> keyScheduleContextOut = default,
        Span<byte> secretOut = default)
    {
        CheckLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        CheckLength(key, KeyLength, nameof(key));
        CheckLength(baseNonce, NonceLength, nameof(baseNonce));
        if (psk.IsEmpty != pskId.IsEmpty)
        {
            // VerifyPSKInputs: a psk without its id (or the reverse) is the RFC's "Inconsistent PSK inputs".
            throw new ArgumentException("psk and psk_id are given together or not at all.", nameof(pskId));
        }

        Span<byte> context = stackalloc byte[KeyScheduleContextLength];
        Span<byte> secret = stackalloc byte[HashLength];
        try
        {
            context[0] = psk.IsEmpty ? ModeBase : ModePsk;
            LabeledExtract(HpkeSuiteId, [], "psk_id_hash"u8, pskId, context.Slice(1, HashLength));
            LabeledExtract(HpkeSuiteId, [], "info_hash"u8, info, context.Slice(1 + HashLength, HashLength));
            LabeledExtract(HpkeSuiteId, sharedSecret, "secret"u8, psk, secret);

            LabeledExpand(HpkeSuiteId, secret, "key"u8, context, key);
            LabeledExpand(HpkeSuiteId, secret, "base_nonce"u8, context, baseNonce);
            if (!exporterSecret.IsEmpty)
            {
                CheckLength(exporterSecret, HashLength, nameof(exporterSecret));
                LabeledExpand(HpkeSuiteId, secret, "exp"u8, context, exporterSecret);
            }

            if (!keyScheduleContextOut.IsEmpty)
            {
                context.CopyTo(keyScheduleContextOut);
            }

            if (!secretOut.IsEmpty)
            {
                secret.CopyTo(secretOut);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(context);
        }
    }

    /// <summary>RFC 9180 §5.3 Export: LabeledExpand(exporter_secret, "sec", exporter_context, L), L = output length.</summary>
    internal static void Export(ReadOnlySpan<byte> exporterSecret, ReadOnlySpan<byte> exporterContext, Span<byte> output)
    {
        CheckLength(exporterSecret, HashLength, nameof(exporterSecret));
        LabeledExpand(HpkeSuiteId, exporterSecret, "sec"u8, exporterContext, output);
    }

    /// <summary>RFC 9180 §5.2: base_nonce XOR I2OSP(seq, Nn).</summary>
    internal static void ComputeNonce(ReadOnlySpan<byte> baseNonce, ulong sequenceNumber, Span<byte> nonce)
    {
        CheckLength(baseNonce, NonceLength, nameof(baseNonce));
        CheckLength(nonce, NonceLength, nameof(nonce));
        baseNonce.CopyTo(nonce);
        // I2OSP(seq, 12) is four zero bytes then the u64 big-endian; XOR only touches the tail.
        var tail = nonce[(NonceLength - sizeof(ulong))..];
        BinaryPrimitives.WriteUInt64BigEndian(tail, BinaryPrimitives.ReadUInt64BigEndian(tail) ^ sequenceNumber);
    }

    /// <summary>The suite's AEAD, exposed for the multi-message RFC vectors.</summary>
    internal static void AeadSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext) =>
        Sodium.AeadEncrypt(ciphertext, plaintext, aad, nonce, key);

    internal static bool AeadOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext) =>
        Sodium.AeadDecrypt(plaintext, ciphertext, aad, nonce, key);

    // DHKEM ExtractAndExpand(dh, kem_context) with kem_context = enc || pkR, passed in two parts.
    private static void ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> encapsulatedKey, ReadOnlySpan<byte> recipientPublicKey, Span<byte> sharedSecret)
    {
        Span<byte> kemContext = stackalloc byte[EncapsulatedKeyLength + PublicKeyLength];
        Span<byte> eaePrk = stackalloc byte[HashLength];
        try
        {
            encapsulatedKey.CopyTo(kemContext);
            recipientPublicKey.CopyTo(kemContext[EncapsulatedKeyLength..]);
            LabeledExtract(KemSuiteId, [], "eae_prk"u8, dh, eaePrk);
            LabeledExpand(KemSuiteId, eaePrk, "shared_secret"u8, kemContext, sharedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(eaePrk);
        }
    }

    // labeled_ikm = "HPKE-v1" || suite_id || label || ikm, hashed in parts (no length limit on ikm).
    private static void LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm, Span<byte> prk) =>
        Sodium.HkdfExtract(prk, salt, Version, suiteId, label, ikm);

    // labeled_info = I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info
    private static void LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, Span<byte> output)
    {
        var length = 2 + Version.Length + suiteId.Length + label.Length + info.Length;
        if (length > MaxLabeledInfoLength)
        {
            throw new ArgumentException("labeled_info is longer than any this suite builds.", nameof(info));
        }

        Span<byte> labeledInfo = stackalloc byte[MaxLabeledInfoLength];
        labeledInfo = labeledInfo[..length];
        try
        {
            BinaryPrimitives.WriteUInt16BigEndian(labeledInfo, checked((ushort)output.Length));
            var rest = labeledInfo[2..];
            Version.CopyTo(rest);
            rest = rest[Version.Length..];
            suiteId.CopyTo(rest);
            rest = rest[suiteId.Length..];
            label.CopyTo(rest);
            info.CopyTo(rest[label.Length..]);
            Sodium.HkdfExpand(output, labeledInfo, prk);
        }
        finally
        {
            // kem_context and key_schedule_context are not secret, but cheap to clear.
            CryptographicOperations.ZeroMemory(labeledInfo);
        }
    }

    private static void CheckLength(ReadOnlySpan<byte> span, int expected, string name)
    {
        if (span.Length != expected)
        {
            ThrowLength(expected, span.Length, name);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowLength(int expected, int actual, string name) =>
        throw new ArgumentException($"Expected {expected} bytes, got {actual}.", name);
}
