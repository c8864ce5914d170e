using System.Security.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The public half of a person's identity: an Ed25519 signing key and an X25519 agreement key
/// (docs/RM-PROTOCOL.md §2). What correspondents hold, compare and verify; never anything secret.
/// </summary>
public sealed class PublicIdentity : IEquatable<PublicIdentity>
{
    public const int KeyLength = 32;

    /// <summary>Both keys, signing then agreement: the form hashed into safety numbers.</summary>
    public const int Length = 2 * KeyLength;

    private readonly byte[] _keys;

    /// <exception cref="ArgumentException">A key that is not 32 bytes.</exception>
    public PublicIdentity(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> agreementKey)
    {
        if (signingKey.Length != KeyLength || agreementKey.Length != KeyLength)
        {
            throw new ArgumentException("An identity is two 32-byte public keys.");
        }

        _keys = new byte[Length];
        signingKey.CopyTo(_keys);
        agreementKey.CopyTo(_keys.AsSpan(KeyLength));
    }

    /// <summary>Ed25519 public key (IKs): checks the signatures of every command this person sends.</summary>
    public ReadOnlySpan<byte> SigningKey => _keys.AsSpan(0, KeyLength);

    /// <summary>X25519 public key (IKa).</summary>
    public ReadOnlySpan<byte> AgreementKey => _keys.AsSpan(KeyLength);

    /// <summary>IKs.pub || IKa.pub.</summary>
    public ReadOnlySpan<byte> Bytes => _keys;

    public static PublicIdentity FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Length
            ? new PublicIdentity(bytes[..KeyLength], bytes[KeyLength..])
            : throw new ArgumentException("An identity is 64 bytes: signing key then agreement key.", nameof(bytes));

    // Fixed-time: identities are compared when deciding whether a key changed.
    public bool Equals(PublicIdentity? other) => other is not null && CryptographicOperations.FixedTimeEquals(_keys, other._keys);

    public override bool Equals(object? obj) => Equals(obj as PublicIdentity);

    public override int GetHashCode() => BitConverter.ToInt32(_keys, 0);

    /// <summary>Short hex of the signing key, for logs and listings (not a substitute for the safety number).</summary>
    public override string ToString() => Convert.ToHexStringLower(_keys, 0, 8);
}
