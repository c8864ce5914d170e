namespace EdgeRelay.Protocol;

/// <summary>SEND_VIA (docs/PROTOCOL.md 4.13): a message for a relay other than this one, or for this one by its endpoint.</summary>
/// <param name="Endpoint">The receiving relay's "host:port", as its address cards carry it.</param>
/// <param name="Pin">Its TLS pin (32 bytes), or empty for plain TCP.</param>
/// <param name="EphemeralAddress">73 bytes, sealed to the receiving relay.</param>
/// <param name="Ciphertext">Copied out of the frame: it outlives the read buffer.</param>
public sealed record SendViaRequest(string Endpoint, byte[] Pin, byte[] EphemeralAddress, byte[] Ciphertext)
{
    public const int MaxEndpointBytes = 255;
}

/// <summary>
/// One send's state, the 11-byte entry of SEND_QUEUED, SEND_STATES and SEND_STATE: <c>send_id</c> u64,
/// <c>state</c> u8 (0 unknown, 1 queued, 2 delivered, 3 failed), <c>code</c> u16 (the failure's error code; 0 otherwise).
/// </summary>
public readonly record struct SendStateEntry(long SendId, byte State, ushort Code)
{
    public const int Length = 8 + 1 + 2;

    public const byte Unknown = 0;

    public const byte Queued = 1;

    public const byte Delivered = 2;

    public const byte Failed = 3;
}

/// <summary>SEND_STATUS: how many ids one request may ask about.</summary>
public static class SendStatusRequest
{
    public const int MaxIds = 256;
}
