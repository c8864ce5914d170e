using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

/// <summary>The message list of a MESSAGES reply or a DELIVER push, read from the storage straight into the frame.</summary>
internal static class MessageFrames
{
    /// <summary>
    /// Writes each message (header, then its ciphertext read from the log) into <paramref name="frame"/> from
    /// <paramref name="offset"/>, which must have room for all of them. A message acknowledged by another
    /// connection meanwhile may be gone: it is skipped (it was delivered). Returns where the list
    /// ends and how many messages it holds.
    /// </summary>
    public static async ValueTask<(int End, int Count)> FillAsync(
        IMessageQueue queue, AddressId aid, ReadOnlyMemory<PendingMessage> messages, byte[] frame, int offset, CancellationToken ct)
    {
        var count = 0;
        for (var i = 0; i < messages.Length; i++)
        {
            var message = messages.Span[i];
            var start = offset + DeliveredMessage.HeaderLength;
            var read = await queue.ReadAsync(aid, message, frame.AsMemory(start, message.Length), ct);
            if (read < 0)
            {
                continue;
            }

            FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(offset), message.Id.Value, message.ReceivedAtUnixMs, read);
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
        IMessageQueue queue, AddressId aid, ReadOnlyMemory<PendingMessage> messages, int length, int offset, CancellationToken ct)
    {
        var frame = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var (end, count) = await FillAsync(queue, aid, messages, frame, offset, ct);
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
