using System.Buffers.Binary;
using System.Security.Cryptography;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

/// <summary>
/// RFC 9180 HPKE for the one suite EdgeRelay uses: DHKEM(X25519, HKDF-SHA256) (0x0020),
/// HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003). Single-shot seal and open only, in mode base
/// (ephemeral addresses) and mode psk with an export from the same context (Hpke.Psk.cs, the
/// relationship manager's envelopes).
/// </summary>
/// <remarks>
/// Everything works on caller-provided spans and stack buffers and allocates nothing: an open runs
/// on the relay's ingest path for every address-cache miss. A ciphertext that does not open is
/// ordinary input there, so opening reports <c>false</c> rather than throwing; exceptions are kept
/// for caller bugs (wrong buffer sizes). Secret intermediates are zeroed before every return.
/// </remarks>
public static partial class Hpke
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
    private const byte ModePsk = 0x01;

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
        return OpenCore(recipientPrivateKey, recipientPublicKey, encapsulatedKey, info, aad, psk: [], pskId: [], ciphertext, plaintext, exporterContext: [], exported: []);
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
        return SealCore(ephemeralPrivateKey, recipientPublicKey, info, aad, psk: [], pskId: [], plaintext, encapsulatedKey, ciphertext, exporterContext: [], exported: []);
    }
}
