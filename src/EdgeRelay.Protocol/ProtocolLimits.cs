namespace EdgeRelay.Protocol;

/// <summary>Counts that bound variable-length request bodies, so a parser never trusts a count it cannot check.</summary>
public static class ProtocolLimits
{
    /// <summary>Addresses one AUTH may claim (each costs one Ed25519 verify, ~77 µs).</summary>
    public const int MaxAuthClaims = 256;

    /// <summary>Ids one ACK may carry.</summary>
    public const int MaxAckIds = 1024;

    /// <summary>Messages one PULL may ask for.</summary>
    public const int MaxPullCount = 1024;
}
