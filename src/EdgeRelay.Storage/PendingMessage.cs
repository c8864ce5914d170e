using System.Runtime.InteropServices;

namespace EdgeRelay.Storage;

/// <summary>
/// One un-acked message of an address, as kept in the in-memory index (32 bytes, no payload).
/// </summary>
/// <param name="Id">The message id: the log address of the record it first arrived in. Unique, increasing, stable across restarts and compaction.</param>
/// <param name="Length">Ciphertext length in bytes.</param>
/// <param name="ReceivedAtUnixMs">When the store accepted it (unix milliseconds, from the store's <see cref="TimeProvider"/>).</param>
/// <remarks>Auto layout lets the runtime put <see cref="MirrorCheck"/> in the padding after <see cref="Length"/>, keeping the entry at 32 bytes.</remarks>
[StructLayout(LayoutKind.Auto)]
public readonly record struct PendingMessage(long Id, int Length, long ReceivedAtUnixMs)
{
    /// <summary>
    /// Where the ciphertext is in the log now: <see cref="Id"/>, unless compaction copied the message
    /// forward (then the address of its MessageMoved record). Readers use this; owners see only the id.
    /// </summary>
    public long Location { get; init; } = Id;

    /// <summary>
    /// A hash of the ciphertext taken on SEND (see <see cref="RecentRecords.Check"/>): a copy from the memory
    /// mirror of recent records is used only if it hashes to this, so a mirror span that a stalled writer
    /// overwrote late can never be delivered as this message.
    /// </summary>
    internal uint MirrorCheck { get; init; }
}
