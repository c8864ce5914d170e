using System.Buffers.Binary;
using System.Security.Cryptography;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

/// <summary>
/// RFC 9180 HPKE, mode base, for the one suite EdgeRelay uses: DHKEM(X25519, HKDF-SHA256) (0x0020),
/// HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003). Single-shot seal and open only.
/// </summary>
/// <remarks>
/// Everything works on caller-provided spans and stack buffers and allocates nothing: an open runs
/// on the relay's ingest path for every address-cache miss. A ciphertext that does not open is
/// ordinary input there, so opening reports <c>false</c> rather than throwing; exceptions are kept
/// for caller bugs (wrong buffer sizes). Secret intermediates are zeroed before every return.
/// </remarks>
public static class Hpke
{
    /// <summary>Length of an encapsulated key (the sender's ephemeral X25519 public key).</summary>
    public const int EncapsulatedKeyLength = 32;

    public const int PublicKeyLength = 32;

    public const int PrivateKeyLength = 32;

    /// <summary>Bytes a sealed message is longer than its plaintext (the Poly1305 tag).</summary>
    public const int TagLength = 16;

    internal const int SharedSecretLength = 32; // Nsecret
    internal const int KeyLength = 32;          // Nk
    internal const int NonceLength = 12;        // Nn
    internal const int HashLength = 32;         // Nh
    internal const int KeyScheduleContextLength = 1 + HashLength + HashLength;

    private const byte ModeBase = 0x00;

    // Longest labeled_info we build: I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info with
    // the longest label ("shared_secret") and the longest info (key_schedule_context, 65 bytes).
    private const int MaxLabeledInfoLength = 2 + 7 + 10 + 13 + KeyScheduleContextLength;

    private static ReadOnlySpan<byte> Version => "HPKE-v1"u8;

    // "KEM" || I2OSP(kem_id, 2)
    private static ReadOnlySpan<byte> KemSuiteId => [(byte)'K', (byte)'E', (byte)'M', 0x00, 0x20];

    // "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)
    private static ReadOnlySpan<byte> HpkeSuiteId => [(byte)'H', (byte)'P', (byte)'K', (byte)'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];

    /// <summary>RFC 9180 §7.1.3 DeriveKeyPair for X25519: the secret key is used as expanded (X25519 clamps on use).</summary>
    public static void DeriveKeyPair(ReadOnlySpan<byte> ikm, Span<byte> privateKey, Span<byte> publicKey)
    {
        CheckLength(privateKey, PrivateKeyLength, nameof(privateKey));
        CheckLength(publicKey, PublicKeyLength, nameof(publicKey));
        Span<byte> dkpPrk = stackalloc byte[HashLength];
        try
        {
            LabeledExtract(KemSuiteId, [], "dkp_prk"u8, ikm, dkpPrk);
            LabeledExpand(KemSuiteId, dkpPrk, "sk"u8, [], privateKey);
            if (!Sodium.ScalarMultBase(publicKey, privateKey))
            {
                // Unreachable for a clamped scalar; treat it like the RFC's DeriveKeyPairError.
                throw new CryptographicException("DeriveKeyPair produced an unusable X25519 key.");
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dkpPrk);
        }
    }

    /// <summary>
    /// Seals <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/> under a fresh
    /// random ephemeral key. False only when the recipient key is a low-order point (the X25519
    /// output would be all zeros), which makes it unusable.
    /// </summary>
    /// <param name="encapsulatedKey">32 bytes: the ephemeral public key the recipient needs.</param>
    /// <param name="ciphertext">Exactly <c>plaintext.Length + TagLength</c> bytes.</param>
    public static bool Seal(
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> plaintext,
        Span<byte> encapsulatedKey,
        Span<byte> ciphertext)
    {
        // Random bytes are a valid X25519 secret key as they are: the scalar is clamped on use.
        Span<byte> ephemeralPrivateKey = stackalloc byte[PrivateKeyLength];
        try
        {
            Sodium.RandomBytes(ephemeralPrivateKey);
            return SealWithEphemeralKey(ephemeralPrivateKey, recipientPublicKey, info, aad, plaintext, encapsulatedKey, ciphertext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeralPrivateKey);
        }
    }

    /// <summary>
    /// Opens a single-shot HPKE ciphertext. False for anything that does not open: a low-order
    /// <paramref name="encapsulatedKey"/>, a wrong key, info or aad, a modified ciphertext or tag.
    /// </summary>
    /// <remarks>Computes the recipient public key from the private key: one extra fixed-base
    /// multiplication. Hot paths that hold the public key use the other overload.</remarks>
    public static bool Open(
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> encapsulatedKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> ciphertext,
        Span<byte> plaintext)
    {
        CheckLength(recipientPrivateKey, PrivateKeyLength, nameof(recipientPrivateKey));
        Span<byte> recipientPublicKey = stackalloc byte[PublicKeyLength];
        if (!Sodium.ScalarMultBase(recipientPublicKey, recipientPrivateKey))
        {
            plaintext.Clear();
            return false;
        }

        return Open(recipientPrivateKey, recipientPublicKey, encapsulatedKey, info, aad, ciphertext, plaintext);
    }

    /// <summary>
    /// Opens with the recipient's key pair. The public key must be the one that belongs to the
    /// private key (it enters kem_context); a mismatched one only makes the open fail.
    /// </summary>
    public static bool Open(
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> encapsulatedKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> ciphertext,
        Span<byte> plaintext)
    {
        CheckLength(recipientPrivateKey, PrivateKeyLength, nameof(recipientPrivateKey));
        CheckLength(recipientPublicKey, PublicKeyLength, nameof(recipientPublicKey));
        if (encapsulatedKey.Length != EncapsulatedKeyLength || ciphertext.Length < TagLength)
        {
            plaintext.Clear();
            return false;
        }

        CheckLength(plaintext, ciphertext.Length - TagLength, nameof(plaintext));

        Span<byte> sharedSecret = stackalloc byte[SharedSecretLength];
        Span<byte> key = stackalloc byte[KeyLength];
        Span<byte> baseNonce = stackalloc byte[NonceLength];
        try
        {
            if (!Decap(encapsulatedKey, recipientPrivateKey, recipientPublicKey, sharedSecret))
            {
                plaintext.Clear();
                return false;
            }

            KeySchedule(sharedSecret, info, key, baseNonce, exporterSecret: []);
            // Single-shot: sequence number 0, so the nonce is base_nonce itself.
            if (!Sodium.AeadDecrypt(plaintext, ciphertext, aad, baseNonce, key))
            {
                plaintext.Clear();
                return false;
            }

            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(baseNonce);
        }
    }

    /// <summary>Seal with a given ephemeral secret key: for the RFC test vectors, never for real traffic.</summary>
    internal static bool SealWithEphemeralKey(
        ReadOnlySpan<byte> ephemeralPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> plaintext,
        Span<byte> encapsulatedKey,
        Span<byte> ciphertext)
    {
        CheckLength(ephemeralPrivateKey, PrivateKeyLength, nameof(ephemeralPrivateKey));
        CheckLength(recipientPublicKey, PublicKeyLength, nameof(recipientPublicKey));
        CheckLength(encapsulatedKey, EncapsulatedKeyLength, nameof(encapsulatedKey));
        CheckLength(ciphertext, plaintext.Length + TagLength, nameof(ciphertext));

        Span<byte> sharedSecret = stackalloc byte[SharedSecretLength];
        Span<byte> key = stackalloc byte[KeyLength];
        Span<byte> baseNonce = stackalloc byte[NonceLength];
        try
        {
            if (!Encap(ephemeralPrivateKey, recipientPublicKey, sharedSecret, encapsulatedKey))
            {
                encapsulatedKey.Clear();
                return false;
            }

            KeySchedule(sharedSecret, info, key, baseNonce, exporterSecret: []);
            Sodium.AeadEncrypt(ciphertext, plaintext, aad, baseNonce, key);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(baseNonce);
        }
    }

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
    /// RFC 9180 §5.1 KeyScheduleS/R for mode base (psk and psk_id empty). Optional outputs are
    /// computed only when their span is not empty; the last two exist for the test vectors.
    /// </summary>
    internal static void KeySchedule(
        ReadOnlySpan<byte> sharedSecret,
        ReadOnlySpan<byte> info,
        Span<byte> key,
        Span<byte> baseNonce,
        Span<byte> exporterSecret,
        Span<byte> keyScheduleContextOut = default,
        Span<byte> secretOut = default)
    {
        CheckLength(sharedSecret, SharedSecretLength, nameof(sharedSecret));
        CheckLength(key, KeyLength, nameof(key));
        CheckLength(baseNonce, NonceLength, nameof(baseNonce));

        Span<byte> context = stackalloc byte[KeyScheduleContextLength];
        Span<byte> secret = stackalloc byte[HashLength];
        try
        {
            context[0] = ModeBase;
            LabeledExtract(HpkeSuiteId, [], "psk_id_hash"u8, [], context.Slice(1, HashLength));
            LabeledExtract(HpkeSuiteId, [], "info_hash"u8, info, context.Slice(1 + HashLength, HashLength));
            LabeledExtract(HpkeSuiteId, sharedSecret, "secret"u8, [], secret);

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
