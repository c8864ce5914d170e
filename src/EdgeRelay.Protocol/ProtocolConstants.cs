namespace EdgeRelay.Protocol;

public static class ProtocolConstants
{
    /// <summary>The only protocol version this build speaks.</summary>
    public const ushort Version = 1;

    /// <summary>"ERLY": the first four bytes of a HELLO body, so that a stray client of another protocol fails fast.</summary>
    public const uint HelloMagic = 0x45524C59;

    /// <summary>length u32 | type u8 | flags u8 | request id u32.</summary>
    public const int HeaderLength = 10;

    /// <summary>Bytes of a SEND body before the ciphertext: the 73-byte ephemeral address.</summary>
    public const int EphemeralAddressLength = 73;

    public const int AddressIdLength = 16;

    public const int PublicKeyLength = 32;

    public const int SignatureLength = 64;

    public const int NonceLength = 32;

    /// <summary>
    /// Extension type (in HELLO_REPLY and in address cards) carrying the SHA-256 of the relay's TLS
    /// certificate's SubjectPublicKeyInfo, so that a client can pin the relay without a CA.
    /// </summary>
    public const byte TlsPinExtension = 0x01;

    /// <summary>Length of a TLS pin: a SHA-256 digest.</summary>
    public const int TlsPinLength = 32;

    /// <summary>
    /// Extension type (in HELLO_REPLY and in address cards) naming another endpoint of the same service, UTF-8
    /// "host:port"; repeated, in the operator's order. The TLS pin applies to each.
    /// </summary>
    public const byte AlternativeEndpointExtension = 0x02;

    /// <summary>Most alternative endpoints a HELLO_REPLY or a card carries (the card codec's limit too).</summary>
    public const int MaxAlternativeEndpoints = 8;

    /// <summary>Default largest ciphertext the relay accepts (DESIGN: 16 KiB).</summary>
    public const int DefaultMaxCiphertext = 16 * 1024;

    /// <summary>Slack above the largest legitimate request body, so that a SEND a little over the ciphertext
    /// limit gets a precise CIPHERTEXT_TOO_LARGE (connection kept) rather than FRAME_TOO_LARGE (closed).</summary>
    public const int RequestBodySlack = 1024;

    /// <summary>
    /// The largest request body a server with this ciphertext limit reads (advertised in HELLO): the bigger
    /// of a full SEND and a full AUTH, plus <see cref="RequestBodySlack"/>. Anything longer is refused from
    /// its length prefix alone.
    /// </summary>
    public static int MaxRequestBody(int maxCiphertext) =>
        Math.Max(EphemeralAddressLength + maxCiphertext, 2 + (ProtocolLimits.MaxAuthClaims * AuthClaim.Length)) + RequestBodySlack;

    /// <summary>Domain-separation prefix of the AUTH signature: prefix || nonce || aid.</summary>
    public static ReadOnlySpan<byte> AuthContext => "EdgeRelay v1 auth"u8;

    /// <summary>Domain-separation prefix of the REVOKE_ADDRESS signature: prefix || aid.</summary>
    public static ReadOnlySpan<byte> RevokeContext => "EdgeRelay v1 revoke"u8;
}
