using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Server;

/// <summary>Ed25519 checks of owner signatures (AUTH and REVOKE_ADDRESS), through NSec.</summary>
/// <remarks>Once per session or per revocation, never per message (a verify is ~77 µs).</remarks>
internal static class Signatures
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public static bool IsValidPublicKey(ReadOnlySpan<byte> key) => EdgeRelay.Addressing.OwnerKeys.IsValid(key);

    public static bool VerifyAuth(ReadOnlySpan<byte> ownerKey, ReadOnlySpan<byte> nonce, AddressId aid, ReadOnlySpan<byte> signature)
    {
        Span<byte> data = stackalloc byte[SignaturePayloads.AuthLength];
        SignaturePayloads.WriteAuth(data, nonce, aid);
        return Verify(ownerKey, data, signature);
    }

    public static bool VerifyRevoke(ReadOnlySpan<byte> ownerKey, AddressId aid, ReadOnlySpan<byte> signature)
    {
        Span<byte> data = stackalloc byte[SignaturePayloads.RevokeLength];
        SignaturePayloads.WriteRevoke(data, aid);
        return Verify(ownerKey, data, signature);
    }

    private static bool Verify(ReadOnlySpan<byte> ownerKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == Ed25519.SignatureSize
        && PublicKey.TryImport(Ed25519, ownerKey, KeyBlobFormat.RawPublicKey, out var key)
        && key is not null
        && Ed25519.Verify(key, data, signature);
}
