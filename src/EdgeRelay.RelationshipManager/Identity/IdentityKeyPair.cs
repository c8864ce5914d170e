using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Identity;

/// <summary>
/// The private identity in memory: the Ed25519 signing key (IKs) and the X25519 agreement key (IKa) of
/// docs/RM-PROTOCOL.md §2. Disposing it destroys both keys.
/// </summary>
/// <remarks>
/// The keys live in NSec's guarded memory with the export policy <see cref="KeyExportPolicies.None"/>:
/// nothing, not even this library, can read them back. The key store seals the random bytes the keys
/// were made from (<see cref="FromPrivateKeys"/>) before they are imported, so persisting the identity
/// never needs an exportable key.
/// </remarks>
public sealed class IdentityKeyPair : IDisposable
{
    public const int SigningSeedLength = 32;

    public const int AgreementPrivateKeyLength = 32;

    public const int SignatureLength = 64;

    private static KeyCreationParameters NotExportable => new() { ExportPolicy = KeyExportPolicies.None };

    private readonly Key _signing;
    private readonly Key _agreement;
    private bool _disposed;

    private IdentityKeyPair(Key signing, Key agreement)
    {
        _signing = signing;
        _agreement = agreement;
        Public = new PublicIdentity(
            signing.PublicKey.Export(KeyBlobFormat.RawPublicKey),
            agreement.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public PublicIdentity Public { get; }

    /// <summary>A fresh identity from the operating system's random generator (through libsodium).</summary>
    internal static IdentityKeyPair Generate()
    {
        var signing = Key.Create(SignatureAlgorithm.Ed25519, NotExportable);
        try
        {
            return new IdentityKeyPair(signing, Key.Create(KeyAgreementAlgorithm.X25519, NotExportable));
        }
        catch
        {
            signing.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The identity made from a 32-byte Ed25519 seed (RFC 8032's private key) and a 32-byte X25519 private
    /// key (RFC 7748's scalar, clamped when used): how the key store reopens an identity, and how test
    /// vectors fix one.
    /// </summary>
    internal static IdentityKeyPair FromPrivateKeys(ReadOnlySpan<byte> signingSeed, ReadOnlySpan<byte> agreementPrivateKey)
    {
        if (signingSeed.Length != SigningSeedLength || agreementPrivateKey.Length != AgreementPrivateKeyLength)
        {
            throw new ArgumentException("An identity is made from a 32-byte Ed25519 seed and a 32-byte X25519 private key.");
        }

        var signing = Key.Import(SignatureAlgorithm.Ed25519, signingSeed, KeyBlobFormat.RawPrivateKey, NotExportable);
        try
        {
            return new IdentityKeyPair(
                signing,
                Key.Import(KeyAgreementAlgorithm.X25519, agreementPrivateKey, KeyBlobFormat.RawPrivateKey, NotExportable));
        }
        catch
        {
            signing.Dispose();
            throw;
        }
    }

    /// <summary>Ed25519 (pure, no context) over <paramref name="data"/>; <paramref name="signature"/> is 64 bytes.</summary>
    internal void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (signature.Length != SignatureLength)
        {
            throw new ArgumentException("An Ed25519 signature is 64 bytes.", nameof(signature));
        }

        SignatureAlgorithm.Ed25519.Sign(_signing, data, signature);
    }

    /// <summary>
    /// Whether <paramref name="signature"/> is an Ed25519 signature of <paramref name="data"/> by
    /// <paramref name="signingPublicKey"/>. False, never an exception, for a key or signature of the wrong
    /// length or a key that is not a valid point: all come from strangers.
    /// </summary>
    internal static bool Verify(ReadOnlySpan<byte> signingPublicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signingPublicKey.Length != PublicIdentity.KeyLength || signature.Length != SignatureLength)
        {
            return false;
        }

        return PublicKey.TryImport(SignatureAlgorithm.Ed25519, signingPublicKey, KeyBlobFormat.RawPublicKey, out var key)
            && SignatureAlgorithm.Ed25519.Verify(key!, data, signature);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _signing.Dispose();
        _agreement.Dispose();
    }
}
