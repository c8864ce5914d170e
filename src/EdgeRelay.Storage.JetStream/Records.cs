using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Storage.JetStream;

/// <summary>What a stream record is; the first byte of every record. Stored: never renumber.</summary>
internal enum RecordKind : byte
{
    /// <summary>A message for an address: its id is the record's stream position.</summary>
    Message = 1,

    /// <summary>The owner acknowledged these messages of an address.</summary>
    Ack = 2,

    /// <summary>Every message received at or before a cutoff is gone.</summary>
    Expire = 3,

    /// <summary>An operator dropped an address' backlog up to a message id.</summary>
    Purge = 4,

    /// <summary>An address' whole registry entry (its stream keeps the newest one per address).</summary>
    Address = 5,
}

/// <summary>
/// The byte layout of stream records. Every record starts with its kind and the writer (the store instance
/// that wrote it, a random number per open), so that a node can tell its own records from the others' as they
/// come back through its follower. Little-endian, fixed offsets.
/// </summary>
internal static class Records
{
    public const int HeaderLength = 1 + 8;

    /// <summary>Kind, writer, address, receive time: what a message record holds before its ciphertext.</summary>
    public const int MessageHeaderLength = HeaderLength + AddressId.Length + 8;

    public const int AddressRecordLength = HeaderLength + AddressId.Length + AddressInfo.OwnerPublicKeyLength + (3 * 8) + 1 + 4 + 2;

    public static RecordKind Kind(ReadOnlySpan<byte> record) => (RecordKind)record[0];

    public static long Writer(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadInt64LittleEndian(record[1..]);

    public static byte[] Message(long writer, AddressId aid, long receivedAtUnixMs, ReadOnlySpan<byte> ciphertext)
    {
        var record = new byte[MessageHeaderLength + ciphertext.Length];
        var rest = WriteHeader(record, RecordKind.Message, writer);
        aid.Write(rest);
        BinaryPrimitives.WriteInt64LittleEndian(rest[AddressId.Length..], receivedAtUnixMs);
        ciphertext.CopyTo(record.AsSpan(MessageHeaderLength));
        return record;
    }

    public static (AddressId Aid, long ReceivedAtUnixMs) ReadMessage(ReadOnlySpan<byte> record)
    {
        var rest = record[HeaderLength..];
        return (AddressId.Read(rest), BinaryPrimitives.ReadInt64LittleEndian(rest[AddressId.Length..]));
    }

    public static byte[] Ack(long writer, AddressId aid, ReadOnlySpan<MessageId> ids)
    {
        var record = new byte[HeaderLength + AddressId.Length + 4 + (ids.Length * 8)];
        var rest = WriteHeader(record, RecordKind.Ack, writer);
        aid.Write(rest);
        BinaryPrimitives.WriteInt32LittleEndian(rest[AddressId.Length..], ids.Length);
        var idBytes = rest[(AddressId.Length + 4)..];
        for (var i = 0; i < ids.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(idBytes[(i * 8)..], ids[i].Value);
        }

        return record;
    }

    public static AddressId ReadAck(ReadOnlySpan<byte> record, List<MessageId> ids)
    {
        var rest = record[HeaderLength..];
        var count = BinaryPrimitives.ReadInt32LittleEndian(rest[AddressId.Length..]);
        var idBytes = rest[(AddressId.Length + 4)..];
        if (count < 0 || idBytes.Length != count * 8)
        {
            throw new InvalidDataException($"An ack record names {count} ids in {idBytes.Length} bytes.");
        }

        for (var i = 0; i < count; i++)
        {
            ids.Add(new MessageId(BinaryPrimitives.ReadInt64LittleEndian(idBytes[(i * 8)..])));
        }

        return AddressId.Read(rest);
    }

    public static byte[] Expire(long writer, long cutoffUnixMs)
    {
        var record = new byte[HeaderLength + 8];
        BinaryPrimitives.WriteInt64LittleEndian(WriteHeader(record, RecordKind.Expire, writer), cutoffUnixMs);
        return record;
    }

    public static long ReadExpire(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadInt64LittleEndian(record[HeaderLength..]);

    public static byte[] Purge(long writer, AddressId aid, MessageId upTo)
    {
        var record = new byte[HeaderLength + AddressId.Length + 8];
        var rest = WriteHeader(record, RecordKind.Purge, writer);
        aid.Write(rest);
        BinaryPrimitives.WriteInt64LittleEndian(rest[AddressId.Length..], upTo.Value);
        return record;
    }

    public static (AddressId Aid, MessageId UpTo) ReadPurge(ReadOnlySpan<byte> record)
    {
        var rest = record[HeaderLength..];
        return (AddressId.Read(rest), new MessageId(BinaryPrimitives.ReadInt64LittleEndian(rest[AddressId.Length..])));
    }

    public static byte[] Address(long writer, AddressInfo info)
    {
        var endpoint = info.NotifyEndpoint is null ? [] : Encoding.UTF8.GetBytes(info.NotifyEndpoint);
        var record = new byte[AddressRecordLength + endpoint.Length];
        var rest = WriteHeader(record, RecordKind.Address, writer);
        info.Id.Write(rest);
        rest = rest[AddressId.Length..];
        info.OwnerPublicKey.CopyTo(rest);
        rest = rest[AddressInfo.OwnerPublicKeyLength..];
        BinaryPrimitives.WriteInt64LittleEndian(rest, info.CreatedAt);
        BinaryPrimitives.WriteInt64LittleEndian(rest[8..], info.ExpiresAt);
        BinaryPrimitives.WriteInt64LittleEndian(rest[16..], info.RevokedAt);
        rest[24] = (byte)info.Policy.Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(rest[25..], info.Policy.WindowMilliseconds);

        // A null endpoint is stored as length 0xFFFF, so an empty one (never accepted, but cheap to keep apart) differs.
        BinaryPrimitives.WriteUInt16LittleEndian(rest[29..], info.NotifyEndpoint is null ? ushort.MaxValue : (ushort)endpoint.Length);
        endpoint.CopyTo(rest[31..]);
        return record;
    }

    public static AddressInfo ReadAddress(ReadOnlySpan<byte> record)
    {
        if (record.Length < AddressRecordLength)
        {
            throw new InvalidDataException($"An address record of {record.Length} bytes is shorter than {AddressRecordLength}.");
        }

        var rest = record[HeaderLength..];
        var aid = AddressId.Read(rest);
        rest = rest[AddressId.Length..];
        var key = rest[..AddressInfo.OwnerPublicKeyLength];
        rest = rest[AddressInfo.OwnerPublicKeyLength..];
        var policy = new DeliveryPolicy((DeliveryPolicyKind)rest[24], BinaryPrimitives.ReadUInt32LittleEndian(rest[25..]));
        var endpointLength = BinaryPrimitives.ReadUInt16LittleEndian(rest[29..]);
        var endpoint = endpointLength == ushort.MaxValue ? null : Encoding.UTF8.GetString(rest.Slice(31, endpointLength));
        return new AddressInfo(
            aid,
            key,
            BinaryPrimitives.ReadInt64LittleEndian(rest),
            BinaryPrimitives.ReadInt64LittleEndian(rest[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(rest[16..]),
            policy,
            endpoint);
    }

    private static Span<byte> WriteHeader(Span<byte> record, RecordKind kind, long writer)
    {
        record[0] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(record[1..], writer);
        return record[HeaderLength..];
    }
}
