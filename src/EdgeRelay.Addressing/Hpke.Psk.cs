using System.Security.Cryptography;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

// RFC 9180 mode psk (§5.1, mode_psk 0x01) with single-shot seal and open, and the secret export of
// §5.3 from the same context; and the shared seal and open under both modes.
public static partial class Hpke
{
    /// <summary>Shortest psk accepted: RFC 9180 §5.1.2 asks for at least 32 bytes of entropy.</summary>
    public const int MinPskLength = 32;

    /// <summary>Longest exporter_context accepted: every labeled_info is built on the stack.</summary>
    public const int MaxExporterContextLength = 64;

    /// <summary>
    /// SealPSK (RFC 9180 §6.1) to <paramref name="recipientPublicKey"/> under a fresh random ephemeral
    /// key, and optionally Export (§5.3) of <paramref name="exported"/>.Length bytes with
    /// <paramref name="exporterContext"/> from the same context. False only for a low-order recipient key.
    /// </summary>
    /// <param name="psk">At least <see cref="MinPskLength"/> bytes.</param>
    /// <param name="pskId">Not empty.</param>
    /// <param name="ciphertext">Exactly <c>plaintext.Length + TagLength</c> bytes.</param>
    /// <param name="exported">Empty for no export; otherwise up to 8160 bytes.</param>
    public static bool SealPsk(
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> plaintext,
        Span<byte> encapsulatedKey,
        Span<byte> ciphertext,
        ReadOnlySpan<byte> exporterContext = default,
        Span<byte> exported = default)
    {
        CheckPskMode(psk, pskId);
        Span<byte> ephemeralPrivateKey = stackalloc byte[PrivateKeyLength];
        try
        {
            Sodium.RandomBytes(ephemeralPrivateKey);
            return SealCore(ephemeralPrivateKey, recipientPublicKey, info, aad, psk, pskId, plaintext, encapsulatedKey, ciphertext, exporterContext, exported);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeralPrivateKey);
        }
    }

    /// <summary>
    /// OpenPSK (RFC 9180 §6.1) with the recipient's key pair, and on success Export from the same
    /// context. False for anything that does not open (wrong key, psk, psk_id, info or aad, a modified
    /// enc, ciphertext or tag); then <paramref name="plaintext"/> and <paramref name="exported"/> are zeroed.
    /// </summary>
    public static bool OpenPsk(
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> encapsulatedKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> ciphertext,
        Span<byte> plaintext,
        ReadOnlySpan<byte> exporterContext = default,
        Span<byte> exported = default)
    {
        CheckPskMode(psk, pskId);
        return OpenCore(recipientPrivateKey, recipientPublicKey, encapsulatedKey, info, aad, psk, pskId, ciphertext, plaintext, exporterContext, exported);
    }

    /// <summary>
    /// <see cref="SealPsk"/> with a given ephemeral secret key. The relationship manager signs over
    /// enc before it seals, so it picks the key first (<see cref="NewEphemeralKey"/>); its test
    /// vectors pass fixed ones. Never public: a reused ephemeral key breaks HPKE's guarantees.
    /// </summary>
    internal static bool SealPskWithEphemeralKey(
        ReadOnlySpan<byte> ephemeralPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> plaintext,
        Span<byte> encapsulatedKey,
        Span<byte> ciphertext,
        ReadOnlySpan<byte> exporterContext = default,
        Span<byte> exported = default)
    {
        CheckPskMode(psk, pskId);
        return SealCore(ephemeralPrivateKey, recipientPublicKey, info, aad, psk, pskId, plaintext, encapsulatedKey, ciphertext, exporterContext, exported);
    }

    /// <summary>The X25519 public key of <paramref name="privateKey"/>. False if it is unusable (all-zero result).</summary>
    internal static bool TryComputePublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        CheckLength(privateKey, PrivateKeyLength, nameof(privateKey));
        CheckLength(publicKey, PublicKeyLength, nameof(publicKey));
        return Sodium.ScalarMultBase(publicKey, privateKey);
    }

    /// <summary>
    /// False for a public key nothing can be sealed to: a low-order point, whose X25519 output is all
    /// zeros for every scalar, so Encap would fail. Checked with the scalar 9 (clamped on use).
    /// </summary>
    internal static bool IsUsablePublicKey(ReadOnlySpan<byte> publicKey)
    {
        CheckLength(publicKey, PublicKeyLength, nameof(publicKey));
        Span<byte> scalar = stackalloc byte[Sodium.ScalarBytes];
        Span<byte> product = stackalloc byte[Sodium.PointBytes];
        scalar.Clear();
        scalar[0] = 9;
        return Sodium.ScalarMult(product, scalar, publicKey);
    }

    /// <summary>A random X25519 key pair, for ratchet and ephemeral keys chosen ahead of a seal.</summary>
    internal static void NewEphemeralKey(Span<byte> privateKey, Span<byte> publicKey)
    {
        CheckLength(privateKey, PrivateKeyLength, nameof(privateKey));
        CheckLength(publicKey, PublicKeyLength, nameof(publicKey));
        do
        {
            Sodium.RandomBytes(privateKey);
        }
        while (!Sodium.ScalarMultBase(publicKey, privateKey));
    }

    private static bool SealCore(
        ReadOnlySpan<byte> ephemeralPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> plaintext,
        Span<byte> encapsulatedKey,
        Span<byte> ciphertext,
        ReadOnlySpan<byte> exporterContext,
        Span<byte> exported)
    {
        CheckLength(ephemeralPrivateKey, PrivateKeyLength, nameof(ephemeralPrivateKey));
        CheckLength(recipientPublicKey, PublicKeyLength, nameof(recipientPublicKey));
        CheckLength(encapsulatedKey, EncapsulatedKeyLength, nameof(encapsulatedKey));
        CheckLength(ciphertext, plaintext.Length + TagLength, nameof(ciphertext));
        CheckExport(exporterContext, exported);

        Span<byte> sharedSecret = stackalloc byte[SharedSecretLength];
        Span<byte> key = stackalloc byte[KeyLength];
        Span<byte> baseNonce = stackalloc byte[NonceLength];
        Span<byte> exporterSecret = stackalloc byte[HashLength];
        try
        {
            if (!Encap(ephemeralPrivateKey, recipientPublicKey, sharedSecret, encapsulatedKey))
            {
                encapsulatedKey.Clear();
                return false;
            }

            KeySchedule(sharedSecret, info, psk, pskId, key, baseNonce, exported.IsEmpty ? [] : exporterSecret);
            // Single-shot: sequence number 0, so the nonce is base_nonce itself.
            Sodium.AeadEncrypt(ciphertext, plaintext, aad, baseNonce, key);
            if (!exported.IsEmpty)
            {
                Export(exporterSecret, exporterContext, exported);
            }

            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(baseNonce);
            CryptographicOperations.ZeroMemory(exporterSecret);
        }
    }

    private static bool OpenCore(
        ReadOnlySpan<byte> recipientPrivateKey,
        ReadOnlySpan<byte> recipientPublicKey,
        ReadOnlySpan<byte> encapsulatedKey,
        ReadOnlySpan<byte> info,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> pskId,
        ReadOnlySpan<byte> ciphertext,
        Span<byte> plaintext,
        ReadOnlySpan<byte> exporterContext,
        Span<byte> exported)
    {
        CheckLength(recipientPrivateKey, PrivateKeyLength, nameof(recipientPrivateKey));
        CheckLength(recipientPublicKey, PublicKeyLength, nameof(recipientPublicKey));
        CheckExport(exporterContext, exported);
        if (encapsulatedKey.Length != EncapsulatedKeyLength || ciphertext.Length < TagLength)
        {
            plaintext.Clear();
            exported.Clear();
            return false;
        }

        CheckLength(plaintext, ciphertext.Length - TagLength, nameof(plaintext));

        Span<byte> sharedSecret = stackalloc byte[SharedSecretLength];
        Span<byte> key = stackalloc byte[KeyLength];
        Span<byte> baseNonce = stackalloc byte[NonceLength];
        Span<byte> exporterSecret = stackalloc byte[HashLength];
        try
        {
            if (!Decap(encapsulatedKey, recipientPrivateKey, recipientPublicKey, sharedSecret))
            {
                plaintext.Clear();
                exported.Clear();
                return false;
            }

            KeySchedule(sharedSecret, info, psk, pskId, key, baseNonce, exported.IsEmpty ? [] : exporterSecret);
            if (!Sodium.AeadDecrypt(plaintext, ciphertext, aad, baseNonce, key))
            {
                plaintext.Clear();
                exported.Clear();
                return false;
            }

            if (!exported.IsEmpty)
            {
                Export(exporterSecret, exporterContext, exported);
            }

            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(baseNonce);
            CryptographicOperations.ZeroMemory(exporterSecret);
        }
    }

    // The public psk entry points are mode psk only; mode base goes through Seal and Open.
    private static void CheckPskMode(ReadOnlySpan<byte> psk, ReadOnlySpan<byte> pskId)
    {
        if (psk.Length < MinPskLength)
        {
            throw new ArgumentException($"Mode psk needs a psk of at least {MinPskLength} bytes.", nameof(psk));
        }

        if (pskId.IsEmpty)
        {
            throw new ArgumentException("Mode psk needs a psk_id.", nameof(pskId));
        }
    }

    private static void CheckExport(ReadOnlySpan<byte> exporterContext, Span<byte> exported)
    {
        if (exporterContext.Length > MaxExporterContextLength)
        {
            throw new ArgumentException($"An exporter_context is at most {MaxExporterContextLength} bytes.", nameof(exporterContext));
        }

        if (exported.Length > 255 * HashLength)
        {
            throw new ArgumentException("Export cannot produce more than 255 * Nh bytes.", nameof(exported));
        }
    }
}
