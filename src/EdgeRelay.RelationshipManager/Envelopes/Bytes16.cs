using System.Buffers.Binary;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// The 16 random bytes that name a command or a group, held as two big-endian integers so that each id is a value
/// with cheap equality. <see cref="CommandId"/> and <see cref="GroupId"/> wrap it to stay distinct types.
/// </summary>
internal readonly record struct Bytes16(ulong Hi, ulong Lo)
{
    public const int Length = 16;

    /// <param name="what">The id as the refusal names it, such as "A group id".</param>
    public static Bytes16 Read(ReadOnlySpan<byte> source, string what) =>
        source.Length == Length
            ? new Bytes16(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]))
            : throw new ArgumentException($"{what} is 16 bytes.", nameof(source));

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

    public override string ToString() => $"{Hi:x16}{Lo:x16}";
}
