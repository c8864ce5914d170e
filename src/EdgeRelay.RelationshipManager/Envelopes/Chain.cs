using System.Security.Cryptography;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// One direction's symmetric chain (docs/RM-PROTOCOL.md §5.1): <c>mk_n = HMAC-SHA256(CK_n, 0x01)</c>,
/// <c>CK_{n+1} = HMAC-SHA256(CK_n, 0x02)</c>. A used chain key is overwritten, so a stolen state
/// cannot recompute the keys of messages already received.
/// </summary>
internal static class Chain
{
    public const int KeyLength = 32;

    /// <summary>Computes mk_n into <paramref name="messageKey"/> and CK_{n+1} into <paramref name="nextChainKey"/>.</summary>
    public static void Step(ReadOnlySpan<byte> chainKey, Span<byte> messageKey, Span<byte> nextChainKey)
    {
        using var key = Key.Import(MacAlgorithm.HmacSha256, chainKey, KeyBlobFormat.RawSymmetricKey);
        Span<byte> next = stackalloc byte[KeyLength];
        MacAlgorithm.HmacSha256.Mac(key, [0x01], messageKey);
        MacAlgorithm.HmacSha256.Mac(key, [0x02], next);
        // Written last so that nextChainKey may be the very span chainKey reads from.
        next.CopyTo(nextChainKey);
        CryptographicOperations.ZeroMemory(next);
    }
}
