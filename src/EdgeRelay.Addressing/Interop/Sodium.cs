using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace EdgeRelay.Addressing.Interop;

/// <summary>
/// The libsodium functions the addressing layer calls directly, behind span wrappers that check
/// every length before a pointer crosses into native code.
/// </summary>
/// <remarks>
/// NSec's own API allocates per X25519 agreement and keeps secrets in guarded memory (syscalls per
/// operation); a resolution miss must cost one scalar multiplication and nothing else, so we call
/// the libsodium that ships with NSec ("libsodium" resolves from NSec's runtime folder). This is
/// the only file with <c>unsafe</c> code: everything else in the assembly works on spans.
/// </remarks>
internal static unsafe partial class Sodium
{
    private const string Library = "libsodium";

    public const int ScalarBytes = 32;
    public const int PointBytes = 32;
    public const int HkdfKeyBytes = 32;
    public const int AeadKeyBytes = 32;
    public const int AeadNonceBytes = 12;
    public const int AeadTagBytes = 16;
    public const int ShortHashKeyBytes = 16;

    // crypto_kdf_hkdf_sha256_state is two SHA-256 states (208 bytes in 1.0.22); the static
    // constructor checks the real size against this reservation.
    private const int HkdfStateReserve = 384;
    private const int HkdfStateAlignment = 64;

    static Sodium()
    {
        if (sodium_init() < 0)
        {
            throw new PlatformNotSupportedException("libsodium failed to initialise (sodium_init returned -1).");
        }

        if (crypto_kdf_hkdf_sha256_statebytes() > HkdfStateReserve)
        {
            throw new PlatformNotSupportedException("The bundled libsodium has a larger HKDF state than this build reserves.");
        }
    }

    /// <summary>Runs the static constructor (sodium_init) without doing anything else.</summary>
    public static void EnsureInitialized()
    {
    }

    /// <summary>X25519: q = n·p. False when the result is all zeros (p has low order).</summary>
    public static bool ScalarMult(Span<byte> q, ReadOnlySpan<byte> n, ReadOnlySpan<byte> p)
    {
        CheckLength(q, PointBytes);
        CheckLength(n, ScalarBytes);
        CheckLength(p, PointBytes);
        fixed (byte* qp = q)
        fixed (byte* np = n)
        fixed (byte* pp = p)
        {
            return crypto_scalarmult(qp, np, pp) == 0;
        }
    }

    /// <summary>
    /// True when <paramref name="point"/> is the canonical encoding of an Ed25519 point on the curve, in
    /// the prime-order subgroup and not of small order: the keys a signature can be verified against.
    /// </summary>
    public static bool IsValidEd25519Point(ReadOnlySpan<byte> point)
    {
        if (point.Length != PointBytes)
        {
            return false;
        }

        fixed (byte* pp = point)
        {
            return crypto_core_ed25519_is_valid_point(pp) == 1;
        }
    }

    public static bool ScalarMultBase(Span<byte> q, ReadOnlySpan<byte> n)
    {
        CheckLength(q, PointBytes);
        CheckLength(n, ScalarBytes);
        fixed (byte* qp = q)
        fixed (byte* np = n)
        {
            return crypto_scalarmult_base(qp, np) == 0;
        }
    }

    /// <summary>
    /// HKDF-SHA256-Extract(salt, part0 || part1 || part2 || part3) without building the
    /// concatenation, so no input is too long for a stack buffer.
    /// </summary>
    public static void HkdfExtract(
        Span<byte> prk,
        ReadOnlySpan<byte> salt,
        ReadOnlySpan<byte> part0,
        ReadOnlySpan<byte> part1,
        ReadOnlySpan<byte> part2,
        ReadOnlySpan<byte> part3)
    {
        CheckLength(prk, HkdfKeyBytes);
        byte* raw = stackalloc byte[HkdfStateReserve + HkdfStateAlignment];
        byte* state = (byte*)(((nuint)raw + (HkdfStateAlignment - 1)) & ~(nuint)(HkdfStateAlignment - 1));
        try
        {
            fixed (byte* saltp = salt)
            fixed (byte* p0 = part0)
            fixed (byte* p1 = part1)
            fixed (byte* p2 = part2)
            fixed (byte* p3 = part3)
            fixed (byte* prkp = prk)
            {
                Check(crypto_kdf_hkdf_sha256_extract_init(state, saltp, (nuint)salt.Length));
                Check(crypto_kdf_hkdf_sha256_extract_update(state, p0, (nuint)part0.Length));
                Check(crypto_kdf_hkdf_sha256_extract_update(state, p1, (nuint)part1.Length));
                Check(crypto_kdf_hkdf_sha256_extract_update(state, p2, (nuint)part2.Length));
                Check(crypto_kdf_hkdf_sha256_extract_update(state, p3, (nuint)part3.Length));
                Check(crypto_kdf_hkdf_sha256_extract_final(state, prkp));
            }
        }
        finally
        {
            // The HMAC state holds the key-derived pads: as secret as the salt.
            CryptographicOperations.ZeroMemory(new Span<byte>(state, HkdfStateReserve));
        }
    }

    public static void HkdfExpand(Span<byte> output, ReadOnlySpan<byte> info, ReadOnlySpan<byte> prk)
    {
        CheckLength(prk, HkdfKeyBytes);
        if (output.Length > 255 * HkdfKeyBytes)
        {
            throw new ArgumentException("HKDF-SHA256 cannot expand to more than 8160 bytes.", nameof(output));
        }

        fixed (byte* outp = output)
        fixed (byte* infop = info)
        fixed (byte* prkp = prk)
        {
            Check(crypto_kdf_hkdf_sha256_expand(outp, (nuint)output.Length, infop, (nuint)info.Length, prkp));
        }
    }

    /// <summary>ChaCha20-Poly1305 (IETF): ciphertext = encrypt(plaintext) || tag.</summary>
    public static void AeadEncrypt(
        Span<byte> ciphertext,
        ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> key)
    {
        CheckLength(ciphertext, plaintext.Length + AeadTagBytes);
        CheckLength(nonce, AeadNonceBytes);
        CheckLength(key, AeadKeyBytes);
        fixed (byte* cp = ciphertext)
        fixed (byte* mp = plaintext)
        fixed (byte* adp = aad)
        fixed (byte* np = nonce)
        fixed (byte* kp = key)
        {
            ulong written;
            Check(crypto_aead_chacha20poly1305_ietf_encrypt(cp, &written, mp, (ulong)plaintext.Length, adp, (ulong)aad.Length, null, np, kp));
        }
    }

    /// <summary>False when the tag does not verify; nothing is written then.</summary>
    public static bool AeadDecrypt(
        Span<byte> plaintext,
        ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> nonce,
        ReadOnlySpan<byte> key)
    {
        if (ciphertext.Length < AeadTagBytes)
        {
            return false;
        }

        CheckLength(plaintext, ciphertext.Length - AeadTagBytes);
        CheckLength(nonce, AeadNonceBytes);
        CheckLength(key, AeadKeyBytes);
        fixed (byte* mp = plaintext)
        fixed (byte* cp = ciphertext)
        fixed (byte* adp = aad)
        fixed (byte* np = nonce)
        fixed (byte* kp = key)
        {
            ulong written;
            return crypto_aead_chacha20poly1305_ietf_decrypt(mp, &written, null, cp, (ulong)ciphertext.Length, adp, (ulong)aad.Length, np, kp) == 0;
        }
    }

    public static void RandomBytes(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            randombytes_buf(p, (nuint)buffer.Length);
        }
    }

    /// <summary>SipHash-2-4: a keyed PRF, so whoever does not know the key cannot aim collisions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ShortHash(ReadOnlySpan<byte> input, ReadOnlySpan<byte> key)
    {
        CheckLength(key, ShortHashKeyBytes);
        ulong hash;
        fixed (byte* inp = input)
        fixed (byte* kp = key)
        {
            Check(crypto_shorthash(&hash, inp, (ulong)input.Length, kp));
        }

        return hash;
    }

    private static void CheckLength(ReadOnlySpan<byte> span, int expected)
    {
        if (span.Length != expected)
        {
            ThrowLength(expected, span.Length);
        }
    }

    private static void Check(int result)
    {
        if (result != 0)
        {
            ThrowFailed();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowLength(int expected, int actual) =>
        throw new ArgumentException($"libsodium buffer must be {expected} bytes, not {actual}.");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowFailed() =>
        throw new CryptographicException("A libsodium primitive reported failure on valid input.");

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult(byte* q, byte* n, byte* p);

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_base(byte* q, byte* n);

    [LibraryImport(Library)]
    private static partial int crypto_core_ed25519_is_valid_point(byte* p);

    [LibraryImport(Library)]
    private static partial nuint crypto_kdf_hkdf_sha256_statebytes();

    [LibraryImport(Library)]
    private static partial int crypto_kdf_hkdf_sha256_extract_init(byte* state, byte* salt, nuint saltLength);

    [LibraryImport(Library)]
    private static partial int crypto_kdf_hkdf_sha256_extract_update(byte* state, byte* ikm, nuint ikmLength);

    [LibraryImport(Library)]
    private static partial int crypto_kdf_hkdf_sha256_extract_final(byte* state, byte* prk);

    [LibraryImport(Library)]
    private static partial int crypto_kdf_hkdf_sha256_expand(byte* output, nuint outputLength, byte* ctx, nuint ctxLength, byte* prk);

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_encrypt(
        byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_decrypt(
        byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial void randombytes_buf(byte* buffer, nuint size);

    [LibraryImport(Library)]
    private static partial int crypto_shorthash(ulong* output, byte* input, ulong inputLength, byte* key);
}
