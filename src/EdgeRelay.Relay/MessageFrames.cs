using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

/// <summary>The message list of a MESSAGES reply or a DELIVER push, read from the log straight into the frame.</summary>
internal static class MessageFrames
{
    /// <summary>
    /// Writes each message (header, then its ciphertext read from the log) into <paramref name="frame"/> from
    /// <paramref name="offset"/>, which must have room for all of them. A message acknowledged by another
    /// connection meanwhile may be gone from the log: it is skipped (it was delivered). Returns where the list
    /// ends and how many messages it holds.
    /// </summary>
    public static async ValueTask<(int End, int Count)> FillAsync(
        RelayStore store, AddressId aid, List<PendingMessage> messages, byte[] frame, int offset, CancellationToken ct)
    {
        var count = 0;
        foreach (var message in messages)
        {
            var start = offset + DeliveredMessage.HeaderLength;
            var read = await store.ReadPendingAsync(aid, message, frame.AsMemory(start, message.Length), ct);
            if (read < 0)
            {
                continue;
            }

            FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(offset), message.Id, message.ReceivedAtUnixMs, read);
            offset = start + read;
            count++;
        }

        return (offset, count);
    }

    /// <summary>An array for a frame of <paramref name="length"/> bytes, from the shared pool: see <see cref="OutboxItem.RentedFrame"/>.</summary>
    public static byte[] Rent(int length) => ArrayPool<byte>.Shared.Rent(length);

    public static void Return(byte[] frame) => ArrayPool<byte>.Shared.Return(frame);
}
