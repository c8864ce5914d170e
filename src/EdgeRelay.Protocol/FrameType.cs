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

    Ok = 0x80,
    HelloReply = 0x81,
    AddressCreated = 0x82,
    Messages = 0x86,
    Pong = 0x88,

    /// <summary>Pushed by the server to a subscriber, unasked: request id 0, never a reply to a request.</summary>
    Deliver = 0x89,
    Error = 0xFF,
}
