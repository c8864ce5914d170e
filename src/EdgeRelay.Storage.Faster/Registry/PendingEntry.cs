using System.Runtime.InteropServices;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// One unacknowledged message in this backend's index (32 bytes, no payload): the contract's
/// <see cref="PendingMessage"/> with the id and location as log addresses.
/// </summary>
/// <param name="Id">The log address of the record the message first arrived in: unique, increasing, stable across restarts and compaction.</param>
/// <param name="Length">Ciphertext length in bytes.</param>
/// <param name="ReceivedAtUnixMs">When the store accepted it (unix milliseconds).</param>
/// <remarks>Auto layout lets the runtime put <see cref="MirrorCheck"/> in the padding after <see cref="Length"/>, keeping the entry at 32 bytes.</remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct PendingEntry(long Id, int Length, long ReceivedAtUnixMs)
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
    public uint MirrorCheck { get; init; }

    /// <summary>The contract's view: the location and check travel as the backend-private read hint.</summary>
    public PendingMessage ToPendingMessage() =>
        new(new MessageId(Id), Length, ReceivedAtUnixMs) { ReadHint = Location, ReadCheck = MirrorCheck };

    /// <summary>Back from the contract's view (a message this backend listed).</summary>
    public static PendingEntry From(in PendingMessage message) =>
        new(message.Id.Value, message.Length, message.ReceivedAtUnixMs) { Location = message.ReadHint, MirrorCheck = message.ReadCheck };
}
