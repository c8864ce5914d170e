using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Addressing;

/// <summary>Which 32-byte strings an address may take as its owner's Ed25519 public key.</summary>
public static class OwnerKeys
{
    public const int Length = 32;

    /// <summary>
    /// True for a key that some private key owns: the canonical encoding of a point on the curve, in the
    /// prime-order subgroup, not of small order (RFC 8032 decoding plus libsodium's subgroup check).
    /// </summary>
    /// <remarks>
    /// Any other 32 bytes would make an address nobody can ever AUTH for or revoke, and small-order keys
    /// are worse: with them a signature can be made to verify for more than one message, so an address
    /// created with one would not be proof of anything. CREATE_ADDRESS refuses both with INVALID_ARGUMENT.
    /// </remarks>
    public static bool IsValid(ReadOnlySpan<byte> key) => Sodium.IsValidEd25519Point(key);
}
