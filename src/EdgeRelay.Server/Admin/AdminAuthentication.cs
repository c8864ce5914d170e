using System.Security.Cryptography;
using System.Text;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// Checks the bearer token of an admin request. Both sides are hashed with SHA-256 before a constant-time
/// comparison, so neither the time taken nor an early exit on length tells a caller how much of a guess was right.
/// </summary>
internal sealed class AdminAuthentication
{
    private const string Scheme = "Bearer ";
    private readonly byte[] _hash;

    public AdminAuthentication(string token)
    {
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        Fingerprint = FingerprintOf(token);
    }

    /// <summary>The configured token's fingerprint, the actor named in the audit log.</summary>
    public string Fingerprint { get; }

    /// <summary>First 8 hex digits of the token's SHA-256: tells tokens apart in a log without revealing one.</summary>
    public static string FingerprintOf(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..8];

    /// <summary>Whether an <c>Authorization</c> header carries the token; a missing or other-scheme header does not.</summary>
    public bool IsAuthorised(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(authorization.AsSpan(Scheme.Length).Trim().ToString()), presented);
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }
}
