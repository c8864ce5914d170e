using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using EdgeRelay.Addressing;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// What lets its reader establish a relationship with the inviter (docs/RM-PROTOCOL.md §3): the inviter's identity,
/// a one-time invitation key (IP.pub), a one-time secret, a name and an address card, signed by the inviter.
/// </summary>
/// <remarks>
/// Whoever holds the invitation holds the secret: it is meant for one person, handed over in person or over a
/// channel the two trust (a QR code, a message), and works once. The inviter's private parts (IP's private key)
/// are in <see cref="InvitationSecrets"/>, never in this object.
/// </remarks>
public sealed partial class Invitation
{
    public const byte Version = 1;

    /// <summary>Suite 1 (§5): the introduction is sealed with HPKE to IP, the secret as PSK.</summary>
    public const byte Suite = 1;

    public const string TextPrefix = "edgerelay-invite1:";

    /// <summary>The longest name, in bytes of UTF-8.</summary>
    public const int MaxNameLength = 64;

    public const int SecretLength = 32;

    public const int IdLength = 16;

    /// <summary>Everything but the name and the card: version, suite, four keys, expiry, two lengths, signature.</summary>
    public const int FixedLength = 2 + (4 * 32) + sizeof(ulong) + 1 + sizeof(ushort) + IdentityKeyPair.SignatureLength;

    public const int MaxEncodedLength = FixedLength + MaxNameLength + AddressCard.MaxEncodedLength;

    // Offsets of the fixed part (§3.1).
    private const int SigningKeyOffset = 2;
    private const int AgreementKeyOffset = 34;
    private const int InvitationKeyOffset = 66;
    private const int SecretOffset = 98;
    private const int ExpiresOffset = 130;
    private const int NameLengthOffset = 138;
    private const int NameOffset = 139;

    // The latest instant DateTimeOffset can hold (9999-12-31T23:59:59Z): a later expiry is malformed, not "never".
    private const long MaxExpiresAt = 253_402_300_799;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> SignatureContext => "EdgeRelay-RM-v1 invitation"u8;

    private static ReadOnlySpan<byte> IdContext => "EdgeRelay-RM-v1 invitation id"u8;

    private readonly byte[] _bytes;
    private readonly byte[] _id;

    private Invitation(byte[] bytes, PublicIdentity inviter, string name, AddressCard card)
    {
        _bytes = bytes;
        Inviter = inviter;
        Name = name;
        Card = card;
        ExpiresAt = DateTimeOffset.FromUnixTimeSeconds((long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(ExpiresOffset)));
        _id = ComputeId(Secret);
    }

    public PublicIdentity Inviter { get; }

    /// <summary>The inviter's preferred name, as they gave it (unverified: the safety number is what proves who they are).</summary>
    public string Name { get; }

    /// <summary>Where the inviter receives the introduction.</summary>
    public AddressCard Card { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>IP.pub, the X25519 key the introduction is sealed to; also the inviter's ratchet key 0 (§5.3).</summary>
    public ReadOnlySpan<byte> InvitationKey => _bytes.AsSpan(InvitationKeyOffset, 32);

    /// <summary>SHA-256("EdgeRelay-RM-v1 invitation id" || secret)[0..16]: names the invitation in the introduction's header.</summary>
    public ReadOnlySpan<byte> Id => _id;

    /// <summary>The one-time secret: the introduction's PSK. Internal: code outside the library has no use for it.</summary>
    internal ReadOnlySpan<byte> Secret => _bytes.AsSpan(SecretOffset, SecretLength);

    public bool IsExpiredAt(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>
    /// A new invitation from <paramref name="inviter"/>, with a fresh invitation key pair and secret. The inviter's
    /// private parts come back in <paramref name="secrets"/>, which the relationship manager keeps (sealed) until
    /// the introduction arrives or the invitation expires.
    /// </summary>
    /// <exception cref="InvitationException">NameTooLong or BadName.</exception>
    public static Invitation Create(IdentityKeyPair inviter, string name, AddressCard card, DateTimeOffset expiresAt, out InvitationSecrets secrets)
    {
        Span<byte> privateParts = stackalloc byte[InvitationSecrets.Length];
        try
        {
            RandomNumberGenerator.Fill(privateParts);
            return Create(inviter, name, card, expiresAt, privateParts[..32], privateParts[32..], out secrets);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateParts);
        }
    }

    /// <summary>The deterministic path: a given invitation private key (32 bytes, X25519) and secret. Tests and vectors.</summary>
    internal static Invitation Create(
        IdentityKeyPair inviter,
        string name,
        AddressCard card,
        DateTimeOffset expiresAt,
        ReadOnlySpan<byte> invitationPrivateKey,
        ReadOnlySpan<byte> secret,
        out InvitationSecrets secrets)
    {
        ArgumentNullException.ThrowIfNull(inviter);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(card);
        if (invitationPrivateKey.Length != 32 || secret.Length != SecretLength)
        {
            throw new ArgumentException("An invitation key and secret are 32 bytes each.");
        }

        var expires = expiresAt.ToUnixTimeSeconds();
        ArgumentOutOfRangeException.ThrowIfNegative(expires, nameof(expiresAt));
        var nameError = CheckName(name, out var nameLength);
        if (nameError is { } error)
        {
            throw new InvitationException(error.Code, error.Message);
        }

        byte[] invitationKey;
        using (var key = Key.Import(KeyAgreementAlgorithm.X25519, invitationPrivateKey, KeyBlobFormat.RawPrivateKey))
        {
            invitationKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        }

        var cardLength = card.GetEncodedLength();
        var bytes = new byte[FixedLength + nameLength + cardLength];
        var span = bytes.AsSpan();
        span[0] = Version;
        span[1] = Suite;
        inviter.Public.SigningKey.CopyTo(span[SigningKeyOffset..]);
        inviter.Public.AgreementKey.CopyTo(span[AgreementKeyOffset..]);
        invitationKey.CopyTo(span[InvitationKeyOffset..]);
        secret.CopyTo(span[SecretOffset..]);
        BinaryPrimitives.WriteUInt64BigEndian(span[ExpiresOffset..], (ulong)expires);
        span[NameLengthOffset] = (byte)nameLength;
        StrictUtf8.GetBytes(name, span.Slice(NameOffset, nameLength));
        var cardLengthOffset = NameOffset + nameLength;
        BinaryPrimitives.WriteUInt16BigEndian(span[cardLengthOffset..], (ushort)cardLength);
        card.Encode(span.Slice(cardLengthOffset + 2, cardLength));
        var signatureOffset = bytes.Length - IdentityKeyPair.SignatureLength;
        inviter.Sign(SignedBytes(span[..signatureOffset]), span[signatureOffset..]);

        var invitation = new Invitation(bytes, inviter.Public, name, card);
        secrets = new InvitationSecrets(invitation, invitationPrivateKey, secret);
        return invitation;
    }

    /// <summary>The binary form (§3.1).</summary>
    public byte[] ToArray() => (byte[])_bytes.Clone();

    /// <summary>The text form: <c>edgerelay-invite1:</c> followed by unpadded base64url of the binary form.</summary>
    public override string ToString() => TextPrefix + Base64Url.EncodeToString(_bytes);

    internal static byte[] ComputeId(ReadOnlySpan<byte> secret)
    {
        Span<byte> input = stackalloc byte[IdContext.Length + SecretLength];
        IdContext.CopyTo(input);
        secret.CopyTo(input[IdContext.Length..]);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, digest);
        CryptographicOperations.ZeroMemory(input);
        return digest[..IdLength].ToArray();
    }

    // "EdgeRelay-RM-v1 invitation" || every byte before the signature: the context keeps an invitation signature
    // from ever being taken for a signature of anything else the identity signs.
    private static byte[] SignedBytes(ReadOnlySpan<byte> unsigned)
    {
        var signed = new byte[SignatureContext.Length + unsigned.Length];
        SignatureContext.CopyTo(signed);
        unsigned.CopyTo(signed.AsSpan(SignatureContext.Length));
        return signed;
    }

    private static (InvitationError Code, string Message)? CheckName(string name, out int byteCount)
    {
        byteCount = 0;
        try
        {
            byteCount = StrictUtf8.GetByteCount(name);
        }
        catch (EncoderFallbackException)
        {
            return (InvitationError.BadName, "The name is not valid Unicode.");
        }

        if (byteCount > MaxNameLength)
        {
            return (InvitationError.NameTooLong, $"The name is {byteCount} bytes of UTF-8; at most {MaxNameLength}.");
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return (InvitationError.BadName, $"The name holds the control character U+{(int)c:X4}.");
            }
        }

        return null;
    }
}
