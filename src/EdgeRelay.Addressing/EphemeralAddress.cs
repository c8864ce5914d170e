using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EdgeRelay.Addressing;

/// <summary>
/// The wire form of an ephemeral address: a single-shot HPKE seal of <c>aid || notAfter</c> to the
/// relay's service key. Anyone holding a card derives one without asking anybody; each derivation
/// uses a fresh ephemeral key, so two addresses for one <c>aid</c> share no bytes but the version.
/// </summary>
/// <remarks>
/// Layout (73 bytes): <c>[0]</c> version 0x01; <c>[1..33)</c> HPKE enc; <c>[33..73)</c>
/// ChaCha20-Poly1305 ciphertext of the 24-byte plaintext <c>aid (16) || notAfter (u64 BE, unix
/// seconds)</c> followed by its 16-byte tag. HPKE info is "EdgeRelay v1 ephemeral address", aad
/// is empty. The version byte is outside the seal: it selects how to open, and a forged one only
/// makes the open fail.
/// </remarks>
public static class EphemeralAddress
{
    public const int Length = 73;

    public const byte Version = 1;

    private const int EncOffset = 1;
    private const int CiphertextOffset = EncOffset + Hpke.EncapsulatedKeyLength;
    private const int PlaintextLength = AddressId.Length + sizeof(ulong);

    private static ReadOnlySpan<byte> Info => "EdgeRelay v1 ephemeral address"u8;

    /// <summary>
    /// Derives a fresh ephemeral address for <paramref name="card"/>, valid until
    /// <paramref name="notAfterUnixSeconds"/>, which may not be later than the card's own expiry.
    /// </summary>
    public static void Derive(AddressCard card, long notAfterUnixSeconds, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (notAfterUnixSeconds > card.ExpiresAtUnixSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(notAfterUnixSeconds), notAfterUnixSeconds,
                "An ephemeral address cannot outlive the card it is derived from.");
        }

        Derive(card.ServicePublicKey.Span, card.Aid, notAfterUnixSeconds, destination);
    }

    /// <summary>Derives a fresh ephemeral address from the relay's service public key and an <c>aid</c>.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes or is a low-order point, the aid is empty, or the destination is not 73 bytes.</exception>
    public static void Derive(ReadOnlySpan<byte> servicePublicKey, AddressId aid, long notAfterUnixSeconds, Span<byte> destination)
    {
        if (servicePublicKey.Length != Hpke.PublicKeyLength)
        {
            throw new ArgumentException("A service public key is 32 bytes.", nameof(servicePublicKey));
        }

        if (aid.IsEmpty)
        {
            throw new ArgumentException("The empty address id names no address.", nameof(aid));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(notAfterUnixSeconds);
        if (destination.Length != Length)
        {
            throw new ArgumentException("An ephemeral address is 73 bytes.", nameof(destination));
        }

        Span<byte> plaintext = stackalloc byte[PlaintextLength];
        try
        {
            aid.Write(plaintext);
            BinaryPrimitives.WriteUInt64BigEndian(plaintext[AddressId.Length..], (ulong)notAfterUnixSeconds);
            destination[0] = Version;
            if (!Hpke.Seal(servicePublicKey, Info, [], plaintext,
                    destination.Slice(EncOffset, Hpke.EncapsulatedKeyLength), destination[CiphertextOffset..]))
            {
                destination.Clear();
                throw new ArgumentException("The service public key is a low-order point: no address can be sealed to it.", nameof(servicePublicKey));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Opens an ephemeral address with the service's private key. False for anything that is not
    /// an address sealed to this key: wrong length, unknown version, failed tag, empty aid.
    /// </summary>
    /// <remarks>The expiry is reported, not checked: the caller knows the time.</remarks>
    public static bool TryOpen(ReadOnlySpan<byte> servicePrivateKey, ReadOnlySpan<byte> ephemeral, out AddressId aid, out long notAfterUnixSeconds)
    {
        if (servicePrivateKey.Length != Hpke.PrivateKeyLength)
        {
            throw new ArgumentException("A service private key is 32 bytes.", nameof(servicePrivateKey));
        }

        Span<byte> publicKey = stackalloc byte[Hpke.PublicKeyLength];
        if (!Interop.Sodium.ScalarMultBase(publicKey, servicePrivateKey))
        {
            aid = default;
            notAfterUnixSeconds = 0;
            return false;
        }

        return TryOpen(servicePrivateKey, publicKey, ephemeral, out aid, out notAfterUnixSeconds);
    }

    /// <summary>The resolver's path: the public key is known, so an open costs one X25519.</summary>
    internal static bool TryOpen(ServiceKey serviceKey, ReadOnlySpan<byte> ephemeral, out AddressId aid, out long notAfterUnixSeconds) =>
        TryOpen(serviceKey.PrivateKey, serviceKey.PublicKey.Span, ephemeral, out aid, out notAfterUnixSeconds);

    /// <summary>Cheap structural check (length and version) that decides whether an open is worth trying.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> ephemeral) =>
        ephemeral.Length == Length && ephemeral[0] == Version;

    private static bool TryOpen(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> ephemeral, out AddressId aid, out long notAfterUnixSeconds)
    {
        aid = default;
        notAfterUnixSeconds = 0;
        if (!IsWellFormed(ephemeral))
        {
            return false;
        }

        Span<byte> plaintext = stackalloc byte[PlaintextLength];
        try
        {
            if (!Hpke.Open(privateKey, publicKey, ephemeral.Slice(EncOffset, Hpke.EncapsulatedKeyLength), Info, [],
                    ephemeral[CiphertextOffset..], plaintext))
            {
                return false;
            }

            var opened = AddressId.Read(plaintext);
            var notAfter = BinaryPrimitives.ReadUInt64BigEndian(plaintext[AddressId.Length..]);
            // Only a holder of a card can seal, and Derive refuses both; refuse them here too
            // rather than hand the store an id that means "no address" or a negative time.
            if (opened.IsEmpty || notAfter > long.MaxValue)
            {
                return false;
            }

            aid = opened;
            notAfterUnixSeconds = (long)notAfter;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
