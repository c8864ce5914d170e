using System.Buffers.Binary;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// A command's 16 random bytes (docs/RM-PROTOCOL.md §6, key 1): receipts name commands by it and a
/// receiver recognises a command it has already shown by it. Held as two integers so that it is a
/// value with cheap equality, like <see cref="AddressId"/>.
/// </summary>
public readonly struct CommandId : IEquatable<CommandId>
{
    public const int Length = 16;

    public CommandId(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    public ulong Hi { get; }

    public ulong Lo { get; }

    public static CommandId Read(ReadOnlySpan<byte> source) =>
        source.Length == Length
            ? new CommandId(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]))
            : throw new ArgumentException("A command id is 16 bytes.", nameof(source));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        Write(bytes);
        return bytes;
    }

    public bool Equals(CommandId other) => Hi == other.Hi && Lo == other.Lo;

    public override bool Equals(object? obj) => obj is CommandId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Hi, Lo);

    public override string ToString() => $"{Hi:x16}{Lo:x16}";

    public static bool operator ==(CommandId left, CommandId right) => left.Equals(right);

    public static bool operator !=(CommandId left, CommandId right) => !left.Equals(right);
}
