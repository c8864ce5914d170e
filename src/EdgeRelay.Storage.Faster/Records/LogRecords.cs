using System.Buffers.Binary;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The kind of a log record: its first byte. A kind's layout never changes once written; a new
/// layout of the same kind gets a new byte (e.g. <c>MessageV2 = 0x13</c>), so old logs stay readable.
/// </summary>
/// <remarks>
/// Values 0x0A..0xFF are free for later kinds. 0x00 is never used: it is what zeroed memory reads as. Recovery refuses a kind it
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

    /// <summary>aid[16] kind:u8 windowMs:u32. 22 bytes. The owner set the delivery policy.</summary>
    AddressPolicySet = 0x05,

    /// <summary>aid[16] expiresAt:i64 (unix s). 25 bytes. The owner renewed the address.</summary>
    AddressRenewed = 0x06,

    /// <summary>aid[16] length:u16 endpoint[length] (UTF-8; length 0 clears it). 19 + n bytes.</summary>
    AddressNotifySet = 0x07,

    /// <summary>
    /// aid[16] id:i64 receivedAt:i64 (unix ms) ciphertext[rest]. 33 + n bytes. Compaction copied the
    /// pending message <c>id</c> forward so the log head can move past its original record.
    /// </summary>
    MessageMoved = 0x08,

    /// <summary>aid[16] count:u32 id:i64 × count. 21 + 8·count bytes. The retention sweep dropped these messages (TTL).</summary>
    MessagesExpired = 0x09,
}

/// <summary>
/// The binary layout of every record this store writes into the FASTER log: one place to read the
/// format. Integers are big-endian (as on the wire); FASTER's own 4-byte entry header carries the
/// length, so a record stores no length of its own.
/// </summary>
internal static class LogRecords
{
    /// <summary>
    /// FASTER's per-entry header with per-entry checksums, which this store always turns on: an 8-byte
    /// checksum, then the 4-byte length. Entries are 4-byte aligned.
    /// </summary>
    public const int FasterEntryHeaderSize = 12;

    public const int AddressCreatedSize = 1 + AddressId.Length + AddressInfo.OwnerPublicKeyLength + 8 + 8;
    public const int AddressRevokedSize = 1 + AddressId.Length + 8;
    public const int MessageHeaderSize = 1 + AddressId.Length + 8;
    public const int AckHeaderSize = 1 + AddressId.Length + 4;
    public const int AddressPolicySetSize = 1 + AddressId.Length + 1 + 4;
    public const int AddressRenewedSize = 1 + AddressId.Length + 8;
    public const int NotifyHeaderSize = 1 + AddressId.Length + 2;
    public const int MovedHeaderSize = 1 + AddressId.Length + 8 + 8;

    /// <summary>
    /// Where the ciphertext starts in a record whose first byte is <paramref name="kind"/>: after the header of
    /// a Message or a MessageMoved record; -1 for any other kind.
    /// </summary>
    public static int CiphertextOffset(byte kind) => kind switch
    {
        (byte)LogRecordKind.Message => MessageHeaderSize,
        (byte)LogRecordKind.MessageMoved => MovedHeaderSize,
        _ => -1,
    };

    /// <summary>Largest ciphertext whose Message record fits in one page of <paramref name="pageSize"/> bytes.</summary>
    /// <remarks>Sized for the larger MessageMoved header, so compaction can always copy a message forward.</remarks>
    public static int MaxPayloadForPage(int pageSize) => pageSize - FasterEntryHeaderSize - MovedHeaderSize;

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

    public static void WriteAddressPolicySet(Span<byte> destination, AddressId aid, DeliveryPolicy policy)
    {
        destination[0] = (byte)LogRecordKind.AddressPolicySet;
        aid.Write(destination[1..]);
        destination[1 + AddressId.Length] = (byte)policy.Kind;
        BinaryPrimitives.WriteUInt32BigEndian(destination[(2 + AddressId.Length)..], policy.WindowMilliseconds);
    }

    public static void WriteAddressRenewed(Span<byte> destination, AddressId aid, long expiresAt)
    {
        destination[0] = (byte)LogRecordKind.AddressRenewed;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length)..], expiresAt);
    }

    /// <summary>Writes the record into <paramref name="destination"/> (at least <see cref="NotifyHeaderSize"/> + the endpoint's UTF-8 length) and returns its length.</summary>
    public static int WriteAddressNotifySet(Span<byte> destination, AddressId aid, ReadOnlySpan<byte> endpointUtf8)
    {
        destination[0] = (byte)LogRecordKind.AddressNotifySet;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(1 + AddressId.Length)..], (ushort)endpointUtf8.Length);
        endpointUtf8.CopyTo(destination[NotifyHeaderSize..]);
        return NotifyHeaderSize + endpointUtf8.Length;
    }

    /// <summary>Writes the header; the ciphertext follows at <see cref="MovedHeaderSize"/>.</summary>
    public static void WriteMessageMovedHeader(Span<byte> destination, AddressId aid, long id, long receivedAtUnixMs)
    {
        destination[0] = (byte)LogRecordKind.MessageMoved;
        aid.Write(destination[1..]);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length)..], id);
        BinaryPrimitives.WriteInt64BigEndian(destination[(1 + AddressId.Length + 8)..], receivedAtUnixMs);
    }

    public static void WriteIdList(Span<byte> destination, LogRecordKind kind, AddressId aid, ReadOnlySpan<long> messageIds)
    {
        destination[0] = (byte)kind;
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
            LogRecordKind.AddressCreated or LogRecordKind.AddressRevoked or LogRecordKind.Message or LogRecordKind.MessagesAcked
                or LogRecordKind.AddressPolicySet or LogRecordKind.AddressRenewed or LogRecordKind.AddressNotifySet
                or LogRecordKind.MessageMoved or LogRecordKind.MessagesExpired => kind,
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

    public static void ReadAddressPolicySet(ReadOnlySpan<byte> record, long address, out AddressId aid, out DeliveryPolicy policy)
    {
        ExpectLength(record, AddressPolicySetSize, address);
        aid = AddressId.Read(record[1..]);
        policy = new DeliveryPolicy((DeliveryPolicyKind)record[1 + AddressId.Length], BinaryPrimitives.ReadUInt32BigEndian(record[(2 + AddressId.Length)..]));
        if (!policy.IsValid)
        {
            throw Corrupt(address, $"invalid delivery policy {policy.Kind}/{policy.WindowMilliseconds} ms");
        }
    }

    public static void ReadAddressRenewed(ReadOnlySpan<byte> record, long address, out AddressId aid, out long expiresAt)
    {
        ExpectLength(record, AddressRenewedSize, address);
        aid = AddressId.Read(record[1..]);
        expiresAt = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length)..]);
    }

    public static void ReadAddressNotifySet(ReadOnlySpan<byte> record, long address, out AddressId aid, out string? endpoint)
    {
        if (record.Length < NotifyHeaderSize)
        {
            throw Corrupt(address, "notification record shorter than its header");
        }

        aid = AddressId.Read(record[1..]);
        var length = BinaryPrimitives.ReadUInt16BigEndian(record[(1 + AddressId.Length)..]);
        if (record.Length != NotifyHeaderSize + length)
        {
            throw Corrupt(address, $"notification record of {record.Length} bytes declares a {length}-byte endpoint");
        }

        endpoint = length == 0 ? null : System.Text.Encoding.UTF8.GetString(record[NotifyHeaderSize..]);
    }

    public static void ReadMessageMoved(ReadOnlySpan<byte> record, long address, out AddressId aid, out long id, out long receivedAtUnixMs, out ReadOnlySpan<byte> ciphertext)
    {
        if (record.Length < MovedHeaderSize)
        {
            throw Corrupt(address, $"moved-message record of {record.Length} bytes is shorter than its {MovedHeaderSize}-byte header");
        }

        aid = AddressId.Read(record[1..]);
        id = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length)..]);
        receivedAtUnixMs = BinaryPrimitives.ReadInt64BigEndian(record[(1 + AddressId.Length + 8)..]);
        if (id <= 0 || id >= address)
        {
            throw Corrupt(address, $"moved-message record names id {id}, which is not an earlier log address");
        }

        ciphertext = record[MovedHeaderSize..];
    }

    /// <summary>Reads the header of a MessagesAcked or MessagesExpired record; the ids are read one by one with <see cref="ReadAckedId"/>.</summary>
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
