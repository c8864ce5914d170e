using System.Runtime.InteropServices;

namespace EdgeRelay.Storage;

/// <summary>
/// One unacknowledged message of an address, as listed by <see cref="IMessageQueue.GetPending"/> (no payload:
/// read it with <see cref="IMessageQueue.ReadAsync"/>). 32 bytes.
/// </summary>
/// <param name="Id">The message id (see <see cref="MessageId"/>).</param>
/// <param name="Length">Ciphertext length in bytes.</param>
/// <param name="ReceivedAtUnixMs">When the store accepted it (unix milliseconds, from the store's <see cref="TimeProvider"/>).</param>
/// <remarks>
/// <see cref="ReadHint"/> and <see cref="ReadCheck"/> belong to the backend that listed the message: it
/// notes there where the ciphertext was and how to check a fast copy of it, so that a read needs no second
/// lookup. Everything above storage passes them back unchanged and never interprets them. Auto layout lets
/// the runtime pack <see cref="ReadCheck"/> next to <see cref="Length"/>, keeping the entry at 32 bytes (a
/// backlog of millions is an array of these).
/// </remarks>
[StructLayout(LayoutKind.Auto)]
public readonly record struct PendingMessage(MessageId Id, int Length, long ReceivedAtUnixMs)
{
    /// <summary>Backend-private: where the ciphertext was when the message was listed (the FASTER backend: its current log address).</summary>
    public long ReadHint { get; init; }

    /// <summary>Backend-private: a check value for the ciphertext (the FASTER backend: a hash taken on SEND, checked on a copy from memory).</summary>
    public uint ReadCheck { get; init; }
}
