namespace EdgeRelay.Protocol;

/// <summary>Stable numeric error codes carried by ERROR frames.</summary>
/// <remarks>
/// Part of the wire contract (docs/PROTOCOL.md lists each with the connection state after it):
/// never renumber or reuse a code. Ranges: 1-19 framing and session, 20-29 addresses,
/// 30-39 authentication, 40-49 delivery, 50-59 server state, 60-69 attachments.
/// </remarks>
public enum ErrorCode : ushort
{
    None = 0,

    /// <summary>The body does not parse for its frame type. The frame is skipped; the connection stays open.</summary>
    MalformedFrame = 1,

    /// <summary>The length prefix exceeds the advertised maximum. The body is never read; the connection is closed.</summary>
    FrameTooLarge = 2,

    /// <summary>The type byte names no request. The frame is skipped; the connection stays open.</summary>
    UnknownCommand = 3,

    /// <summary>HELLO offered no version the server speaks, or a bad magic. The connection is closed.</summary>
    UnsupportedVersion = 4,

    /// <summary>A request came before HELLO, or a second HELLO. The connection is closed.</summary>
    HandshakeRequired = 5,

    /// <summary>The stream ended in the middle of a frame. The connection is closed.</summary>
    TruncatedFrame = 6,

    /// <summary>Reserved header bits were set. The connection is closed.</summary>
    InvalidHeader = 7,

    /// <summary>The ciphertext of a SEND is over the advertised maximum. Nothing is stored; the connection stays open.</summary>
    CiphertextTooLarge = 10,

    /// <summary>A field is out of its allowed range (e.g. an address lifetime over the maximum). The connection stays open.</summary>
    InvalidArgument = 11,

    /// <summary>Too many requests in a short time (e.g. unresolvable addresses). The connection stays open.</summary>
    RateLimited = 12,

    /// <summary>
    /// The relay holds as many connections as its operator allows, in all or from this IP address. Sent with
    /// request id 0 before HELLO is read; the connection is closed. Connect again later (or from elsewhere).
    /// </summary>
    ConnectionLimit = 14,

    /// <summary>This connection's SEND rate is used up. Nothing is stored; retry later. The connection stays open.</summary>
    SendRateLimited = 15,

    /// <summary>
    /// The relay's budget of signature checks (AUTH claims, REVOKE_ADDRESS) is used up: this connection's or the
    /// whole relay's. Nothing was checked or changed; retry later. The connection stays open.
    /// </summary>
    VerifyRateLimited = 16,

    /// <summary>The ephemeral address has the wrong length or format version.</summary>
    AddressMalformed = 20,

    /// <summary>The ephemeral address does not open with this service's key (garbage, or sealed to another service).</summary>
    AddressInvalid = 21,

    /// <summary>The address opened but names no address this service knows.</summary>
    AddressUnknown = 22,

    /// <summary>The ephemeral address or its long-term address has expired.</summary>
    AddressExpired = 23,

    /// <summary>The long-term address was revoked by its owner.</summary>
    AddressRevoked = 24,

    /// <summary>The address holds as many un-acked messages (or bytes) as the relay allows one address. Nothing is stored; retry later.</summary>
    QuotaAddress = 25,

    /// <summary>A signature (AUTH or REVOKE_ADDRESS) does not verify with the address' owner key.</summary>
    BadSignature = 30,

    /// <summary>PULL or ACK for an address this connection has not authenticated for.</summary>
    NotAuthenticated = 31,

    /// <summary>ACK named an id that is not a pending message of that address. Nothing was acknowledged.</summary>
    UnknownMessage = 40,

    /// <summary>CREDIT or UNSUBSCRIBE for an address this connection has not subscribed to. The connection stays open.</summary>
    NotSubscribed = 41,

    /// <summary>The server is draining for shutdown and accepts no new work. The connection is closed.</summary>
    ShuttingDown = 50,

    /// <summary>The relay's disk budget is used up. Nothing is stored; retry later (owners draining their queues frees space).</summary>
    QuotaServer = 52,

    /// <summary>An unexpected server fault. The connection is closed; nothing unacknowledged was promised.</summary>
    InternalError = 51,

    /// <summary>The token's own request rate is used up. Nothing was done; retry later. The connection stays open.</summary>
    TokenRateLimited = 13,

    /// <summary>The token's quota (queued messages or bytes, attachment bytes) is used up. Nothing stored. The connection stays open.</summary>
    QuotaToken = 26,

    /// <summary>AUTH_TOKEN with a token this relay never issued. The connection stays open.</summary>
    TokenUnknown = 32,

    /// <summary>The token was revoked by the operator (at AUTH_TOKEN or on any later request). The connection stays open.</summary>
    TokenRevoked = 33,

    /// <summary>A sending-service command (SEND_VIA, uploads) on a connection without an RM token. The connection stays open.</summary>
    NotAuthorised = 34,

    /// <summary>The outbound queue's budget is used up. Nothing queued; retry later. The connection stays open.</summary>
    QueueFull = 53,

    /// <summary>A forwarded message reached its maximum age without the receiving service taking it (a send state, never an ERROR frame's reply to SEND_VIA).</summary>
    Undeliverable = 54,

    /// <summary>SEND_VIA_MODE with a sending mode this relay does not offer now (unknown, or turned off by its operator). Nothing queued; the connection stays open.</summary>
    ModeUnavailable = 55,

    /// <summary>
    /// SEND, SEND_VIA or SEND_VIA_MODE while the relay's operator has drained it: it takes no new message for now,
    /// while pulls, pushes and acks go on. Nothing stored; send elsewhere or retry later. The connection stays open.
    /// </summary>
    Draining = 59,

    /// <summary>An upload's declared size exceeds the maximum attachment size. The connection stays open.</summary>
    AttachmentTooLarge = 60,

    /// <summary>The attachment disk budget is used up. Nothing stored; retry later. The connection stays open.</summary>
    QuotaAttachments = 61,

    /// <summary>UPLOAD_CHUNK, UPLOAD_RESUME or UPLOAD_COMMIT names no upload in progress (never begun, expired or already committed).</summary>
    UploadUnknown = 62,

    /// <summary>UPLOAD_CHUNK at an offset other than the bytes received so far, or past the declared size.</summary>
    UploadOffset = 63,

    /// <summary>UPLOAD_COMMIT before every declared byte arrived, or with a digest that does not match. Nothing is readable.</summary>
    UploadIncomplete = 64,
}

public static class ErrorCodes
{
    /// <summary>Whether the server closes the connection after sending this error.</summary>
    public static bool ClosesConnection(ErrorCode code) => code switch
    {
        ErrorCode.FrameTooLarge or ErrorCode.UnsupportedVersion or ErrorCode.HandshakeRequired
            or ErrorCode.TruncatedFrame or ErrorCode.InvalidHeader or ErrorCode.ShuttingDown
            or ErrorCode.InternalError or ErrorCode.ConnectionLimit => true,
        _ => false,
    };

    /// <summary>The stable upper-snake-case name used in docs, logs and metrics labels.</summary>
    public static string Name(ErrorCode code) => code switch
    {
        ErrorCode.None => "NONE",
        ErrorCode.MalformedFrame => "MALFORMED_FRAME",
        ErrorCode.FrameTooLarge => "FRAME_TOO_LARGE",
        ErrorCode.UnknownCommand => "UNKNOWN_COMMAND",
        ErrorCode.UnsupportedVersion => "UNSUPPORTED_VERSION",
        ErrorCode.HandshakeRequired => "HANDSHAKE_REQUIRED",
        ErrorCode.TruncatedFrame => "TRUNCATED_FRAME",
        ErrorCode.InvalidHeader => "INVALID_HEADER",
        ErrorCode.CiphertextTooLarge => "CIPHERTEXT_TOO_LARGE",
        ErrorCode.InvalidArgument => "INVALID_ARGUMENT",
        ErrorCode.RateLimited => "RATE_LIMITED",
        ErrorCode.AddressMalformed => "ADDRESS_MALFORMED",
        ErrorCode.AddressInvalid => "ADDRESS_INVALID",
        ErrorCode.AddressUnknown => "ADDRESS_UNKNOWN",
        ErrorCode.AddressExpired => "ADDRESS_EXPIRED",
        ErrorCode.AddressRevoked => "ADDRESS_REVOKED",
        ErrorCode.QuotaAddress => "QUOTA_ADDRESS",
        ErrorCode.BadSignature => "BAD_SIGNATURE",
        ErrorCode.NotAuthenticated => "NOT_AUTHENTICATED",
        ErrorCode.UnknownMessage => "UNKNOWN_MESSAGE",
        ErrorCode.NotSubscribed => "NOT_SUBSCRIBED",
        ErrorCode.ShuttingDown => "SHUTTING_DOWN",
        ErrorCode.InternalError => "INTERNAL_ERROR",
        ErrorCode.QuotaServer => "QUOTA_SERVER",
        ErrorCode.TokenRateLimited => "TOKEN_RATE_LIMITED",
        ErrorCode.ConnectionLimit => "CONNECTION_LIMIT",
        ErrorCode.SendRateLimited => "SEND_RATE_LIMITED",
        ErrorCode.VerifyRateLimited => "VERIFY_RATE_LIMITED",
        ErrorCode.QuotaToken => "QUOTA_TOKEN",
        ErrorCode.TokenUnknown => "TOKEN_UNKNOWN",
        ErrorCode.TokenRevoked => "TOKEN_REVOKED",
        ErrorCode.NotAuthorised => "NOT_AUTHORISED",
        ErrorCode.QueueFull => "QUEUE_FULL",
        ErrorCode.Undeliverable => "UNDELIVERABLE",
        ErrorCode.ModeUnavailable => "MODE_UNAVAILABLE",
        ErrorCode.Draining => "DRAINING",
        ErrorCode.AttachmentTooLarge => "ATTACHMENT_TOO_LARGE",
        ErrorCode.QuotaAttachments => "QUOTA_ATTACHMENTS",
        ErrorCode.UploadUnknown => "UPLOAD_UNKNOWN",
        ErrorCode.UploadOffset => "UPLOAD_OFFSET",
        ErrorCode.UploadIncomplete => "UPLOAD_INCOMPLETE",
        _ => "ERROR_" + ((ushort)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
