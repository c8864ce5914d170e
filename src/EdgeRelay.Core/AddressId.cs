using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EdgeRelay;

/// <summary>
/// The relay's internal name for a long-term address (<c>aid</c>): 16 random bytes.
/// </summary>
/// <remarks>
/// Held as two <see cref="ulong"/> so that it is a blittable key for dictionaries and caches
/// (no byte[] per lookup). On the wire and in the log it is the 16 bytes big-endian: Hi then Lo.
/// </remarks>
public readonly struct AddressId : IEquatable<AddressId>
{
    public const int Length = 16;

    public AddressId(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    public ulong Hi { get; }

    public ulong Lo { get; }

    public bool IsEmpty => Hi == 0 && Lo == 0;

    public static AddressId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        AddressId id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = Read(bytes);
        }
        while (id.IsEmpty); // the all-zero id is reserved as "no address"
        return id;
    }

    public static AddressId Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            throw new ArgumentException("An address id is 16 bytes.", nameof(source));
        }

        return new AddressId(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));
    }

    public void Write(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("An address id is 16 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
    }

    public bool Equals(AddressId other) => Hi == other.Hi && Lo == other.Lo;

    public override bool Equals(object? obj) => obj is AddressId other && Equals(other);

    // The id is uniformly random, so folding the halves is a good enough hash.
    public override int GetHashCode() => (int)(Hi ^ (Hi >> 32) ^ Lo ^ (Lo >> 32));

    public override string ToString() => $"{Hi:x16}{Lo:x16}";

    public static bool operator ==(AddressId left, AddressId right) => left.Equals(right);

    public static bool operator !=(AddressId left, AddressId right) => !left.Equals(right);
}
