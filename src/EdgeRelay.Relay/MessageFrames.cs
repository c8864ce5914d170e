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

    /// <summary>
    /// <see cref="FillAsync"/> into an array of at least <paramref name="length"/> bytes rented from the shared
    /// pool, which the caller then owns (see <see cref="OutboxItem.RentedFrame"/>); if the reads fail, the
    /// array goes back to the pool before the exception leaves.
    /// </summary>
    public static async ValueTask<(byte[] Frame, int End, int Count)> FillRentedAsync(
        RelayStore store, AddressId aid, List<PendingMessage> messages, int length, int offset, CancellationToken ct)
    {
        var frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var (end, count) = await FillAsync(store, aid, messages, frame, offset, ct);
            return (frame, end, count);
        }
        catch
        {
            Return(frame);
            throw;
        }
    }

    public static void Return(byte[] frame) => ArrayPool<byte>.Shared.Return(frame);
}
