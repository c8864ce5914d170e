using System.Buffers.Binary;

namespace EdgeRelay.Storage;

/// <summary>
/// The kind of a log record: its first byte. A kind's layout never changes once written; a new
/// layout of the same kind gets a new byte (e.g. <c>MessageV2 = 0x13</c>), so old logs stay readable.
/// </summary>
/// <remarks>
/// Values 0x05..0xFF are free for later kinds (latency policy set, quota changes, copy-forward of a
/// live message...). 0x00 is never used: it is what zeroed memory reads as. Recovery refuses a kind it
/// does not know (<see cref="LogRecords.ReadKind"/>) instead of skipping it: skipping a state change
/// silently would rebuild a different state than the one that wrote the log.
/// </remarks>
internal enum LogRecordKind : byte
{
    /// <summary>aid[16] ownerKey[32] createdAt:i64 (unix s) expiresAt:i64 (unix s). 65 bytes.</summary>
    AddressCreated = 0x01,

    /// <summary>aid[16] at:i64 (unix s). 25 bytes.</summary>
    AddressRevoked = 0x02,

    /// <summary>aid[16] receivedAt:i64 (unix ms) ciphertext[rest of the entry]. 25 + n bytes.</summary>
    Message = 0x03,

    /// <summary>aid[16] count:u32 id:i64 × count (message ids = log addresses). 21 + 8·count bytes.</summary>
    MessagesAcked = 0x04,
}

/// <summary>
/// The binary layout of every record this store writes into the FASTER log: one place to read the
/// format. Integers are big-endian (as on the wire); FASTER's own 4-byte entry header carries the
/// length, so a record stores no length of its own.
/// </summary>
internal static class LogRecords
{
    /// <summary>FASTER's per-entry header (length) without per-entry checksums; entries are 4-byte aligned.</summary>
    public const int FasterEntryHeaderSize = 4;

    public const int AddressCreatedSize = 1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8 + 8;
    public const int AddressRevokedSize = 1 + AddressId.Length + 8;
    public const int MessageHeaderSize = 1 + AddressId.Length + 8;
    public const int AckHeaderSize = 1 + AddressId.Length + 4;

    /// <summary>Largest ciphertext whose Message record fits in one page of <paramref name="pageSize"/> bytes.</summary>
    public static int MaxPayloadForPage(int pageSize) => pageSize - FasterEntryHeaderSize - MessageHeaderSize;

    /// <summary>Most message ids one MessagesAcked record can carry in a page of <paramref name="pageSize"/> bytes.</summary>
    public static int MaxAckIdsForPage(int pageSize) => (pageSize - FasterEntryHeaderSize - AckHeaderSize) / sizeof(long);

    public static void WriteAddressCreated(Span<byte> destination, AddressId aid, ReadOnlySpan<byte> ownerPublicKey, long createdAt, long expiresAt)
    {
        destination[0] = (byte)LogRecordKind.AddressCreated;
        aid.Write(destination[1..]);
        ownerPublicKey.CopyTo(destination[(1 + AddressId.Length)..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength)..], createdAt);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8)..], expiresAt);
    }

    public static void WriteAddressRevoked(Span<byte> destination, AddressId aid, long at)
    {
        destination[0] = (byte)LogRecordKind.AddressRevoked;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length)..], at);
    }

    /// <summary>Writes the header; the ciphertext follows at <see cref="MessageHeaderSize"/>.</summary>
    public static void WriteMessageHeader(Span<byte> destination, AddressId aid, long receivedAtUnixMs)
    {
        destination[0] = (byte)LogRecordKind.Message;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length)..], receivedAtUnixMs);
    }

    public static void WriteMessagesAcked(Span<byte> destination, AddressId aid, ReadOnlySpan<long> messageIds)
    {
        destination[0] = (byte)LogRecordKind.MessagesAcked;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(1 + AddressId.Length)..], (uint)messageIds.Length);
        var ids = destination[AckHeaderSize..];
        for (var i = 0; i < messageIds.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(ids[(i * sizeof(long))..], messageIds[i]);
        }
    }

    /// <summary>The record's kind; throws <see cref="InvalidDataException"/> for an empty record or a kind this version does not know.</summary>
    public static LogRecordKind ReadKind(ReadOnlySpan<byte> record, long address)
    {
        if (record.IsEmpty)
        {
            throw Corrupt(address, "empty record");
        }

        var kind = (LogRecordKind)record[0];
        return kind switch
        {
            LogRecordKind.AddressCreated or LogRecordKind.AddressRevoked or LogRecordKind.Message or LogRecordKind.MessagesAcked => kind,
            _ => throw Corrupt(address, $"unknown record kind 0x{record[0]:x2} (written by a newer version, or corrupt); refusing to skip it"),
        };
    }

    public static void ReadAddressCreated(ReadOnlySpan<byte> record, long address, out AddressId aid, out ReadOnlySpan<byte> ownerPublicKey, out long createdAt, out long expiresAt)
    {
        ExpectLength(record, AddressCreatedSize, address);
        aid = AddressId.Read(record[1..]);
        ownerPublicKey = record.Slice(1 + AddressId.Length, AddressInfo.OwnerPublicKeyLength);
        createdAt = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength)..]);
        expiresAt = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8)..]);
    }

    public static void ReadAddressRevoked(ReadOnlySpan<byte> record, long address, out AddressId aid, out long at)
    {
        ExpectLength(record, AddressRevokedSize, address);
        aid = AddressId.Read(record[1..]);
        at = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length)..]);
    }

    public static void ReadMessage(ReadOnlySpan<byte> record, long address, out AddressId aid, out long receivedAtUnixMs, out ReadOnlySpan<byte> ciphertext)
    {
        if (record.Length < MessageHeaderSize)
        {
            throw Corrupt(address, $"message record of {record.Length} bytes is shorter than its {MessageHeaderSize}-byte header");
        }

        aid = AddressId.Read(record[1..]);
        receivedAtUnixMs = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length)..]);
        ciphertext = record[MessageHeaderSize..];
    }

    /// <summary>Reads the header of a MessagesAcked record; the ids are read one by one with <see cref="ReadAckedId"/>.</summary>
    public static void ReadMessagesAcked(ReadOnlySpan<byte> record, long address, out AddressId aid, out int count)
    {
        if (record.Length < AckHeaderSize)
        {
            throw Corrupt(address, "acknowledgement record shorter than its header");
        }

        aid = AddressId.Read(record[1..]);
        var declared = BinaryPrimitives.ReadUInt32BigEndian(record[(1 + AddressId.Length)..]);
        if (declared > int.MaxValue || record.Length != AckHeaderSize + ((long)declared * sizeof(long)))
        {
            throw Corrupt(address, $"acknowledgement record of {record.Length} bytes declares {declared} ids");
        }

        count = (int)declared;
    }

    public static long ReadAckedId(ReadOnlySpan<byte> record, int index) =>
        BinaryPrimitives.ReadInt64BigEndian(record[(AckHeaderSize + (index * sizeof(long)))..]);

    private static void ExpectLength(ReadOnlySpan<byte> record, int expected, long address)
    {
        if (record.Length != expected)
        {
            throw Corrupt(address, $"{(LogRecordKind)record[0]} record is {record.Length} bytes, expected {expected}");
        }
    }

    private static InvalidDataException Corrupt(long address, string what) =>
        new($"Relay log record at address {address}: {what}.");
}
