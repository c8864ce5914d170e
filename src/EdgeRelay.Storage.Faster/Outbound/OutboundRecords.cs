using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The records of the outbound log: a message queued (or carried forward by compaction, with its original id),
/// in two kinds, and a message settled. Every field is big-endian, like the main log's records.
/// </summary>
/// <remarks>
/// <para>Queued (kind 1): <c>kind</c> u8 | <c>send_id</c> i64 (0: the id is this record's own log address; a
/// carried copy names the original) | <c>queued_at</c> i64 unix ms | <c>owner_len</c> u8 | owner |
/// <c>endpoint_len</c> u8 | endpoint | <c>pin_len</c> u8 | pin | ephemeral address (73) | <c>length</c> i32 | ciphertext.
/// A message forwarded at once: its release time is its queue time.</para>
/// <para>Held (kind 3): a queued message that waits for a release time (the batched sending mode): a Queued record
/// with <c>release_at</c> i64 unix ms, later than <c>queued_at</c>, right after <c>queued_at</c>. A kind of its own
/// rather than a new layout for every queued message: messages forwarded at once are still written as kind 1, byte
/// for byte as before, so a log without batched messages reads as it always did, and a reader that does not know
/// kind 3 refuses the log loudly instead of forwarding a held message early.</para>
/// <para>Settled (kind 2): <c>kind</c> u8 | <c>send_id</c> i64 | <c>state</c> u8 | <c>code</c> u16 |
/// <c>queued_at</c> i64 | <c>settled_at</c> i64 | <c>owner_len</c> u8 | owner. It carries everything a status
/// needs, so it stays answerable once the queued record before it is truncated, and compaction carries it
/// forward as is.</para>
/// </remarks>
internal static class OutboundRecords
{
    public const byte QueuedKind = 1;

    public const byte SettledKind = 2;

    public const byte HeldKind = 3;

    /// <summary>Everything but the ciphertext, at its largest, plus FASTER's entry header and alignment.</summary>
    public const int MaxOverhead = 1 + 8 + 8 + 8 + 1 + 255 + 1 + 255 + 1 + 32 + OutboundRequest.EphemeralAddressLength + 4 + LogRecords.FasterEntryHeaderSize + 4;

    /// <summary>Largest Settled record: what a caller's stack buffer for <see cref="WriteSettled"/> must hold.</summary>
    public const int MaxSettledLength = 1 + 8 + 1 + 2 + 8 + 8 + 1 + OutboundRequest.MaxTextBytes;

    /// <summary>A Queued record, or a Held one when <paramref name="releaseAtUnixMs"/> is later than <paramref name="queuedAtUnixMs"/>.</summary>
    public static byte[] Queued(long sendId, long queuedAtUnixMs, long releaseAtUnixMs, string owner, string endpoint, ReadOnlySpan<byte> pin, ReadOnlySpan<byte> ephemeral, ReadOnlySpan<byte> ciphertext)
    {
        if (releaseAtUnixMs < queuedAtUnixMs)
        {
            throw new ArgumentOutOfRangeException(nameof(releaseAtUnixMs), releaseAtUnixMs, "A message is released at or after its queue time.");
        }

        var held = releaseAtUnixMs > queuedAtUnixMs;
        var ownerLength = Encoding.UTF8.GetByteCount(owner);
        var endpointLength = Encoding.UTF8.GetByteCount(endpoint);
        var header = HeaderLength(held);
        var record = new byte[header + 1 + ownerLength + 1 + endpointLength + 1 + pin.Length + ephemeral.Length + 4 + ciphertext.Length];
        var span = record.AsSpan();
        span[0] = held ? HeldKind : QueuedKind;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], sendId);
        BinaryPrimitives.WriteInt64BigEndian(span[9..], queuedAtUnixMs);
        if (held)
        {
            BinaryPrimitives.WriteInt64BigEndian(span[17..], releaseAtUnixMs);
        }

        var at = header;
        at = WriteText(span, at, owner, ownerLength);
        at = WriteText(span, at, endpoint, endpointLength);
        at = WriteShort(span, at, pin);
        ephemeral.CopyTo(span[at..]);
        at += ephemeral.Length;
        BinaryPrimitives.WriteInt32BigEndian(span[at..], ciphertext.Length);
        ciphertext.CopyTo(span[(at + 4)..]);
        return record;
    }

    /// <summary>
    /// The message a Queued record of <see cref="Queued"/> holds, its pin, address and ciphertext slices of
    /// <paramref name="record"/>, not copies: the queue keeps the record as the message's memory while it is queued.
    /// </summary>
    public static OutboundMessage Message(byte[] record, long sendId, long queuedAtUnixMs, long releaseAtUnixMs, string owner, string endpoint)
    {
        var at = HeaderLength(record[0] == HeldKind);
        at += 1 + record[at]; // owner
        at += 1 + record[at]; // endpoint
        var pinLength = record[at];
        var pin = record.AsMemory(at + 1, pinLength);
        at += 1 + pinLength;
        var ephemeral = record.AsMemory(at, OutboundRequest.EphemeralAddressLength);
        at += OutboundRequest.EphemeralAddressLength;
        var length = BinaryPrimitives.ReadInt32BigEndian(record.AsSpan(at));
        return new OutboundMessage(sendId, owner, endpoint, pin, ephemeral, record.AsMemory(at + 4, length), queuedAtUnixMs, releaseAtUnixMs);
    }

    /// <summary>Writes a Settled record into <paramref name="into"/> (at least <see cref="MaxSettledLength"/> bytes); returns its length.</summary>
    public static int WriteSettled(Span<byte> into, in OutboundStatus status)
    {
        into[0] = SettledKind;
        BinaryPrimitives.WriteInt64BigEndian(into[1..], status.SendId);
        into[9] = (byte)status.State;
        BinaryPrimitives.WriteUInt16BigEndian(into[10..], status.Code);
        BinaryPrimitives.WriteInt64BigEndian(into[12..], status.QueuedAtUnixMs);
        BinaryPrimitives.WriteInt64BigEndian(into[20..], status.SettledAtUnixMs);
        return WriteText(into, 28, status.Owner, Encoding.UTF8.GetByteCount(status.Owner));
    }

    /// <summary>Parses a Queued or Held record read back at <paramref name="address"/>; throws <see cref="InvalidDataException"/> for one this store never wrote.</summary>
    public static OutboundMessage ReadQueued(ReadOnlySpan<byte> record, long address)
    {
        try
        {
            var held = record[0] == HeldKind;
            var sendId = BinaryPrimitives.ReadInt64BigEndian(record[1..]);
            var queuedAt = BinaryPrimitives.ReadInt64BigEndian(record[9..]);
            var releaseAt = held ? BinaryPrimitives.ReadInt64BigEndian(record[17..]) : queuedAt;
            var at = HeaderLength(held);
            var owner = ReadText(record, ref at);
            var endpoint = ReadText(record, ref at);
            var pin = ReadShort(record, ref at);
            var ephemeral = record.Slice(at, OutboundRequest.EphemeralAddressLength).ToArray();
            at += ephemeral.Length;
            var length = BinaryPrimitives.ReadInt32BigEndian(record[at..]);
            var ciphertext = record.Slice(at + 4, length).ToArray();
            if (at + 4 + length != record.Length || sendId < 0 || (pin.Length is not (0 or OutboundRequest.PinLength)) || length < 1 || (held && releaseAt <= queuedAt))
            {
                throw Bad(address, "a queued record whose fields do not add up");
            }

            return new OutboundMessage(sendId == 0 ? address : sendId, owner, endpoint, pin, ephemeral, ciphertext, queuedAt, releaseAt);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw Bad(address, "a queued record cut short", ex);
        }
    }

    public static OutboundStatus ReadSettled(ReadOnlySpan<byte> record, long address)
    {
        try
        {
            var sendId = BinaryPrimitives.ReadInt64BigEndian(record[1..]);
            var state = (OutboundState)record[9];
            var code = BinaryPrimitives.ReadUInt16BigEndian(record[10..]);
            var queuedAt = BinaryPrimitives.ReadInt64BigEndian(record[12..]);
            var settledAt = BinaryPrimitives.ReadInt64BigEndian(record[20..]);
            var at = 28;
            var owner = ReadText(record, ref at);
            if (at != record.Length || sendId <= 0 || state is not (OutboundState.Delivered or OutboundState.Failed))
            {
                throw Bad(address, "a settled record whose fields do not add up");
            }

            return new OutboundStatus(sendId, owner, state, code, queuedAt, settledAt);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw Bad(address, "a settled record cut short", ex);
        }
    }

    /// <summary>Kind, send id and queue time; and the release time of a Held record.</summary>
    private static int HeaderLength(bool held) => held ? 1 + 8 + 8 + 8 : 1 + 8 + 8;

    private static int WriteShort(Span<byte> span, int at, ReadOnlySpan<byte> value)
    {
        span[at] = (byte)value.Length;
        value.CopyTo(span[(at + 1)..]);
        return at + 1 + value.Length;
    }

    private static int WriteText(Span<byte> span, int at, string value, int length)
    {
        span[at] = (byte)length;
        Encoding.UTF8.GetBytes(value, span.Slice(at + 1, length));
        return at + 1 + length;
    }

    private static byte[] ReadShort(ReadOnlySpan<byte> record, ref int at)
    {
        var length = record[at];
        var value = record.Slice(at + 1, length).ToArray();
        at += 1 + length;
        return value;
    }

    private static string ReadText(ReadOnlySpan<byte> record, ref int at) => Encoding.UTF8.GetString(ReadShort(record, ref at));

    private static InvalidDataException Bad(long address, string what, Exception? inner = null) =>
        new($"The outbound log holds {what} at log address {address}: it was not written by this store. Refusing to open.", inner);
}
