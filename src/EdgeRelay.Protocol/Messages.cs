namespace EdgeRelay.Protocol;

// Body layouts of each frame type (docs/PROTOCOL.md is the normative description).
// Fixed-size bodies are value types; variable ones carry memory that the caller owns.

/// <summary>HELLO: magic u32, min version u16, max version u16.</summary>
public readonly record struct HelloRequest(uint Magic, ushort MinVersion, ushort MaxVersion)
{
    public const int Length = 8;
}

/// <summary>The HELLO reply: what the server speaks and accepts, plus the AUTH challenge of this connection.</summary>
public sealed record ServerInfo
{
    public ushort Version { get; init; } = ProtocolConstants.Version;

    public int MaxCiphertext { get; init; }

    public int MaxRequestBody { get; init; }

    public int MaxReplyBody { get; init; }

    public int MaxPullCount { get; init; }

    /// <summary>How many requests the server lets one connection have unanswered before it stops reading.</summary>
    public int MaxInFlight { get; init; }

    public uint DefaultAddressLifetimeSeconds { get; init; }

    public uint MaxAddressLifetimeSeconds { get; init; }

    public ReadOnlyMemory<byte> ServicePublicKey { get; init; }

    public ReadOnlyMemory<byte> AuthNonce { get; init; }

    /// <summary>The endpoint the server writes into the address cards it issues ("host:port").</summary>
    public string Endpoint { get; init; } = "";

    /// <summary>SHA-256 of the relay's TLS certificate's SubjectPublicKeyInfo; empty when the relay does not speak TLS.</summary>
    public ReadOnlyMemory<byte> TlsPin { get; init; }

    /// <summary>The service's other endpoints, which its cards name too (extension type 2), in the operator's order.</summary>
    public IReadOnlyList<string> AlternativeEndpoints { get; init; } = [];
}

public readonly record struct CreateAddressRequest(ReadOnlyMemory<byte> OwnerPublicKey, uint LifetimeSeconds)
{
    public const int Length = ProtocolConstants.PublicKeyLength + 4;
}

public readonly record struct AddressCreatedReply(long ExpiresAtUnixSeconds, ReadOnlyMemory<byte> Card);

public readonly record struct RevokeAddressRequest(AddressId Address, ReadOnlyMemory<byte> Signature)
{
    public const int Length = ProtocolConstants.AddressIdLength + ProtocolConstants.SignatureLength;
}

public readonly record struct AuthClaim(AddressId Address, ReadOnlyMemory<byte> Signature)
{
    public const int Length = ProtocolConstants.AddressIdLength + ProtocolConstants.SignatureLength;
}

public readonly record struct PullRequest(AddressId Address, ushort MaxCount)
{
    public const int Length = ProtocolConstants.AddressIdLength + 2;
}

/// <summary>SUBSCRIBE and CREDIT: an address and a message count (the initial window, or credit to add).</summary>
public readonly record struct CreditRequest(AddressId Address, uint Credit)
{
    public const int Length = ProtocolConstants.AddressIdLength + 4;
}

/// <summary>SET_POLICY: kind 0 immediate, 1 batched (window in ms, &gt; 0), 2 pull-only (window 0 otherwise). Decoded as sent: check <see cref="DeliveryPolicy.IsValid"/>.</summary>
public readonly record struct SetPolicyRequest(AddressId Address, DeliveryPolicy Policy)
{
    public const int Length = ProtocolConstants.AddressIdLength + 1 + 4;
}

/// <summary>SET_NOTIFY: the wake-up endpoint (UTF-8 URL); empty clears it.</summary>
public readonly record struct SetNotifyRequest(AddressId Address, string Endpoint)
{
    public const int MaxEndpointBytes = 2048;
}

/// <summary>RENEW_ADDRESS: a new lifetime in seconds from now (0: the server default).</summary>
public readonly record struct RenewAddressRequest(AddressId Address, uint LifetimeSeconds)
{
    public const int Length = ProtocolConstants.AddressIdLength + 4;
}

/// <summary>One message in a MESSAGES reply or a DELIVER push.</summary>
public readonly record struct DeliveredMessage(long Id, long ReceivedAtUnixMs, ReadOnlyMemory<byte> Ciphertext)
{
    public const int HeaderLength = 8 + 8 + 4;
}

public readonly record struct ErrorReply(ErrorCode Code, string Reason)
{
    /// <summary>Reasons are short human hints; the code is the contract.</summary>
    public const int MaxReasonBytes = 255;
}

/// <summary>AUTH_TOKEN: an operator-issued access token, presented once per connection (docs/PROTOCOL.md 4.12).</summary>
public static class AuthTokenRequest
{
    /// <summary>The longest token the wire can carry (its length is a u8).</summary>
    public const int MaxTokenBytes = 255;
}
