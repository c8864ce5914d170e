using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Enqueues the two variable-length records (Message, MessagesAcked) by serialising them straight
/// into the log page that FASTER reserved: the ciphertext is copied once, from the caller's buffer
/// into the log, with no intermediate buffer and no allocation.
/// </summary>
/// <remarks>
/// FASTER's <c>TryEnqueue&lt;T&gt;(T, out long)</c> takes an <see cref="ILogEnqueueEntry"/> whose
/// <c>SerializeTo</c> receives a span over the reserved page bytes. The entry must be a struct (a
/// class would be an allocation per message) and a struct cannot hold the caller's span, so it
/// holds a pointer, valid only inside the <c>fixed</c> block below, which outlives the enqueue.
/// This is the only unsafe code of the store; <c>StorageBenchmarks</c> measures it against a raw
/// <c>TryEnqueue</c> of a prebuilt record of the same size.
/// </remarks>
internal static unsafe class LogRecordEntries
{
    /// <param name="mirror">Where the record is mirrored for fast reads, if anywhere.</param>
    public static bool TryEnqueueMessage(FasterLog log, RecentRecords? mirror, AddressId aid, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext, out long address)
    {
        fixed (byte* payload = ciphertext)
        {
            return TryEnqueueMirrored(log, mirror, new MessageEntry(aid, receivedAtUnixMs, payload, ciphertext.Length), out address);
        }
    }

    public static bool TryEnqueueAck(FasterLog log, AddressId aid, ReadOnlySpan<long> messageIds, out long address) =>
        TryEnqueueIdList(log, LogRecordKind.MessagesAcked, aid, messageIds, out address);

    /// <summary>A MessagesAcked or MessagesExpired record: the same layout, a different cause.</summary>
    public static bool TryEnqueueIdList(FasterLog log, LogRecordKind kind, AddressId aid, ReadOnlySpan<long> messageIds, out long address)
    {
        fixed (long* ids = messageIds)
        {
            return log.TryEnqueue(new IdListEntry(kind, aid, ids, messageIds.Length), out address);
        }
    }

    public static bool TryEnqueueMoved(FasterLog log, RecentRecords? mirror, AddressId aid, long id, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext, out long address)
    {
        fixed (byte* payload = ciphertext)
        {
            return TryEnqueueMirrored(log, mirror, new MovedEntry(aid, id, receivedAtUnixMs, payload, ciphertext.Length), out address);
        }
    }

    /// <summary>Enqueues a record that carries a ciphertext and, once FASTER has given it an address, mirrors it.</summary>
    private static bool TryEnqueueMirrored<T>(FasterLog log, RecentRecords? mirror, T entry, out long address)
        where T : struct, ILogEnqueueEntry
    {
        if (!log.TryEnqueue(entry, out address))
        {
            return false;
        }

        mirror?.Write(address, entry);
        return true;
    }

    private readonly struct MessageEntry : ILogEnqueueEntry
    {
        private readonly AddressId _aid;
        private readonly long _receivedAtUnixMs;
        private readonly byte* _payload;
        private readonly int _length;

        public MessageEntry(AddressId aid, long receivedAtUnixMs, byte* payload, int length)
        {
            _aid = aid;
            _receivedAtUnixMs = receivedAtUnixMs;
            _payload = payload;
            _length = length;
        }

        public int SerializedLength => LogRecords.MessageHeaderSize + _length;

        public void SerializeTo(Span<byte> dest)
        {
            LogRecords.WriteMessageHeader(dest, _aid, _receivedAtUnixMs);
            new ReadOnlySpan<byte>(_payload, _length).CopyTo(dest[LogRecords.MessageHeaderSize..]);
        }
    }

    private readonly struct IdListEntry : ILogEnqueueEntry
    {
        private readonly LogRecordKind _kind;
        private readonly AddressId _aid;
        private readonly long* _ids;
        private readonly int _count;

        public IdListEntry(LogRecordKind kind, AddressId aid, long* ids, int count)
        {
            _kind = kind;
            _aid = aid;
            _ids = ids;
            _count = count;
        }

        public int SerializedLength => LogRecords.AckHeaderSize + (_count * sizeof(long));

        public void SerializeTo(Span<byte> dest) =>
            LogRecords.WriteIdList(dest, _kind, _aid, new ReadOnlySpan<long>(_ids, _count));
    }

    private readonly struct MovedEntry : ILogEnqueueEntry
    {
        private readonly AddressId _aid;
        private readonly long _id;
        private readonly long _receivedAtUnixMs;
        private readonly byte* _payload;
        private readonly int _length;

        public MovedEntry(AddressId aid, long id, long receivedAtUnixMs, byte* payload, int length)
        {
            _aid = aid;
            _id = id;
            _receivedAtUnixMs = receivedAtUnixMs;
            _payload = payload;
            _length = length;
        }

        public int SerializedLength => LogRecords.MovedHeaderSize + _length;

        public void SerializeTo(Span<byte> dest)
        {
            LogRecords.WriteMessageMovedHeader(dest, _aid, _id, _receivedAtUnixMs);
            new ReadOnlySpan<byte>(_payload, _length).CopyTo(dest[LogRecords.MovedHeaderSize..]);
        }
    }
}
