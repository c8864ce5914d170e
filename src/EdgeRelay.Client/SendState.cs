using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

/// <summary>Where a message sent with SEND_VIA stands (PROTOCOL.md 4.14).</summary>
public enum SendStateKind : byte
{
    /// <summary>No send of this token by that id (never issued to it, or its state is no longer kept).</summary>
    Unknown = 0,

    /// <summary>Durably queued on the sending relay.</summary>
    Queued = 1,

    /// <summary>The receiving relay acknowledged it as stored (or it was for the sending relay itself).</summary>
    Delivered = 2,

    /// <summary>Given up: see <see cref="SendState.Code"/>.</summary>
    Failed = 3,
}

/// <summary>One send's state. <see cref="Code"/> is the failure's code (the receiving relay's refusal, or UNDELIVERABLE); <see cref="ErrorCode.None"/> otherwise.</summary>
/// <param name="SendId">The relay's id for the send (0 for one delivered to the sending relay itself at once).</param>
public sealed record SendState(long SendId, SendStateKind State, ErrorCode Code)
{
    internal static SendState From(SendStateEntry entry) => new(entry.SendId, (SendStateKind)entry.State, (ErrorCode)entry.Code);
}
