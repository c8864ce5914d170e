using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Storage.JetStream;

/// <summary>What an outbound stream record is; its first byte. Stored: never renumber.</summary>
internal enum OutboundRecordKind : byte
{
    /// <summary>A message queued for forwarding: its send id is the record's stream sequence.</summary>
    Queued = 1,

    /// <summary>A queued message delivered or failed. The first one in stream order for a send id counts.</summary>
    Settled = 2,
}

/// <summary>
/// The byte layout of the outbound stream's records. Like the other streams' records each starts with its kind
/// and writer (the queue instance that wrote it), so a node knows its own records when its follower hands them
/// back; a queued record also carries the writer's local number for it, so the enqueue waiting on it learns its
/// stream sequence. Little-endian.
/// </summary>
/// <remarks>
/// A settle record repeats the owner and queue time of its message: the queued record (with its ciphertext) is
/// deleted once the message settled, and the status must still answer SEND_STATUS for the retention period, also
/// on a node that starts later.
/// </remarks>
internal static class OutboundRecords
{
    public const int HeaderLength = 1 + 8;

    /// <summary>Kind, writer, local number, queue time, release time, three length-prefixed texts/keys, the ephemeral address.</summary>
    public const int MaxQueuedOverhead = HeaderLength + (3 * 8) + 3 + (2 * OutboundRequest.MaxTextBytes) + OutboundRequest.PinLength + OutboundRequest.EphemeralAddressLength;

    public const int SettledFixedLength = HeaderLength + 8 + 1 + 2 + 8 + 8 + 1;

    public static OutboundRecordKind Kind(ReadOnlySpan<byte> record) => (OutboundRecordKind)record[0];

    public static long Writer(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadInt64LittleEndian(record[1..]);

    public static byte[] Queued(long writer, long local, long queuedAtMs, long releaseAtMs, OutboundRequest request)
    {
        var owner = Encoding.UTF8.GetBytes(request.Owner);
        var endpoint = Encoding.UTF8.GetBytes(request.Endpoint);
        var record = new byte[HeaderLength + (3 * 8) + 3 + owner.Length + endpoint.Length + request.Pin.Length + request.EphemeralAddress.Length + request.Ciphertext.Length];
        record[0] = (byte)OutboundRecordKind.Queued;
        var span = record.AsSpan(1);
        BinaryPrimitives.WriteInt64LittleEndian(span, writer);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], local);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], queuedAtMs);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], releaseAtMs);
        span = span[32..];
        span = WriteShort(span, owner);
        span = WriteShort(span, endpoint);
        span = WriteShort(span, request.Pin.Span);
        request.EphemeralAddress.Span.CopyTo(span);
        request.Ciphertext.Span.CopyTo(span[request.EphemeralAddress.Length..]);
        return record;
    }

    /// <summary>The message a queued record holds, with <paramref name="sendId"/>; its byte fields are slices of <paramref name="record"/>, which the message then owns.</summary>
    public static (long Local, OutboundMessage Message) ReadQueued(byte[] record, long sendId)
    {
        var span = record.AsSpan(HeaderLength);
        var local = BinaryPrimitives.ReadInt64LittleEndian(span);
        var queuedAt = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
        var releaseAt = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
        var at = HeaderLength + 24;
        var owner = ReadShort(record, ref at);
        var endpoint = ReadShort(record, ref at);
        var pin = ReadShort(record, ref at);
        var ephemeral = record.AsMemory(at, OutboundRequest.EphemeralAddressLength);
        var ciphertext = record.AsMemory(at + OutboundRequest.EphemeralAddressLength);
        if (ciphertext.IsEmpty)
        {
            throw new InvalidDataException($"Outbound record {sendId} holds no ciphertext.");
        }

        return (local, new OutboundMessage(sendId, Encoding.UTF8.GetString(owner.Span), Encoding.UTF8.GetString(endpoint.Span), pin, ephemeral, ciphertext, queuedAt, releaseAt));
    }

    public static byte[] Settled(long writer, OutboundStatus status)
    {
        var owner = Encoding.UTF8.GetBytes(status.Owner);
        var record = new byte[SettledFixedLength + owner.Length];
        record[0] = (byte)OutboundRecordKind.Settled;
        var span = record.AsSpan(1);
        BinaryPrimitives.WriteInt64LittleEndian(span, writer);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], status.SendId);
        span[16] = (byte)status.State;
        BinaryPrimitives.WriteUInt16LittleEndian(span[17..], status.Code);
        BinaryPrimitives.WriteInt64LittleEndian(span[19..], status.QueuedAtUnixMs);
        BinaryPrimitives.WriteInt64LittleEndian(span[27..], status.SettledAtUnixMs);
        WriteShort(span[35..], owner);
        return record;
    }

    public static OutboundStatus ReadSettled(byte[] record)
    {
        var span = record.AsSpan(HeaderLength);
        var state = (OutboundState)span[8];
        if (state is not (OutboundState.Delivered or OutboundState.Failed))
        {
            throw new InvalidDataException($"An outbound settle record carries state {state}.");
        }

        var at = SettledFixedLength - 1;
        var owner = Encoding.UTF8.GetString(ReadShort(record, ref at).Span);
        return new OutboundStatus(
            BinaryPrimitives.ReadInt64LittleEndian(span),
            owner,
            state,
            BinaryPrimitives.ReadUInt16LittleEndian(span[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[11..]),
            BinaryPrimitives.ReadInt64LittleEndian(span[19..]));
    }

    private static Span<byte> WriteShort(Span<byte> span, ReadOnlySpan<byte> value)
    {
        span[0] = (byte)value.Length;
        value.CopyTo(span[1..]);
        return span[(1 + value.Length)..];
    }

    private static ReadOnlyMemory<byte> ReadShort(byte[] record, ref int at)
    {
        var length = record[at];
        var value = record.AsMemory(at + 1, length);
        at += 1 + length;
        return value;
    }
}
