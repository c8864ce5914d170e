namespace EdgeRelay.Protocol;

/// <summary>
/// The exact bytes an owner signs with Ed25519. Each starts with its own context string, so a signature
/// made for one purpose (AUTH) can never be replayed for another (REVOKE_ADDRESS).
/// </summary>
public static class SignaturePayloads
{
    public static int AuthLength => ProtocolConstants.AuthContext.Length + ProtocolConstants.NonceLength + AddressId.Length;

    public static int RevokeLength => ProtocolConstants.RevokeContext.Length + AddressId.Length;

    /// <summary>"EdgeRelay v1 auth" || the connection's 32-byte nonce || aid.</summary>
    public static void WriteAuth(Span<byte> destination, ReadOnlySpan<byte> nonce, AddressId aid)
    {
        if (nonce.Length != ProtocolConstants.NonceLength)
        {
            throw new ArgumentException("The AUTH nonce is 32 bytes.", nameof(nonce));
        }

        ProtocolConstants.AuthContext.CopyTo(destination);
        nonce.CopyTo(destination[ProtocolConstants.AuthContext.Length..]);
        aid.Write(destination[(ProtocolConstants.AuthContext.Length + ProtocolConstants.NonceLength)..]);
    }

    /// <summary>"EdgeRelay v1 revoke" || aid.</summary>
    public static void WriteRevoke(Span<byte> destination, AddressId aid)
    {
        ProtocolConstants.RevokeContext.CopyTo(destination);
        aid.Write(destination[ProtocolConstants.RevokeContext.Length..]);
    }
}
