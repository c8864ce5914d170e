namespace EdgeRelay.Protocol;

/// <summary>The type byte of a frame. Requests are below 0x80, replies at or above it.</summary>
/// <remarks>Values are part of the wire contract (docs/PROTOCOL.md): never renumber, only add.</remarks>
public enum FrameType : byte
{
    Hello = 0x01,
    CreateAddress = 0x02,
    RevokeAddress = 0x03,
    Send = 0x04,
    Auth = 0x05,
    Pull = 0x06,
    Ack = 0x07,
    Ping = 0x08,
    Subscribe = 0x09,
    Credit = 0x0A,
    Unsubscribe = 0x0B,
    SetPolicy = 0x0C,
    SetNotify = 0x0D,
    RenewAddress = 0x0E,

    // The sending service (docs/PROTOCOL.md 4.12 to 4.16).
    AuthToken = 0x0F,
    SendVia = 0x10,
    SendStatus = 0x11,
    WatchSends = 0x12,
    UploadBegin = 0x13,
    UploadChunk = 0x14,
    UploadResume = 0x15,
    UploadCommit = 0x16,
    Status = 0x17,

    /// <summary>SEND_VIA with a sending mode first (docs/PROTOCOL.md 4.17); SEND_VIA is this with mode 1.</summary>
    SendViaMode = 0x18,

    Ok = 0x80,
    HelloReply = 0x81,
    AddressCreated = 0x82,
    Messages = 0x86,
    Pong = 0x88,

    /// <summary>Pushed by the server to a subscriber, unasked: request id 0, never a reply to a request.</summary>
    Deliver = 0x89,

    SendQueued = 0x8A,
    SendStates = 0x8B,

    /// <summary>Pushed to a connection that sent WATCH_SENDS when one of its token's messages settles: request id 0.</summary>
    SendState = 0x8C,
    UploadStarted = 0x8D,
    UploadProgress = 0x8E,
    AttachmentStored = 0x8F,
    StatusReply = 0x90,

    /// <summary>Pushed to connected RMs when the operator changes a sending limit or option: request id 0.</summary>
    Config = 0x91,
    Error = 0xFF,
}
