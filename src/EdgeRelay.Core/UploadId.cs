using System.Buffers.Binary;
using System.Security.Cryptography;

namespace EdgeRelay;

/// <summary>
/// The handle of an attachment upload in progress: 16 random bytes. Whoever holds it may continue,
/// resume or commit the upload, so it is drawn from a CSPRNG and never derived from anything.
/// </summary>
/// <remarks>On the wire it is the 16 bytes as they are (Hi then Lo, big-endian); on disk it names the upload's files in hex.</remarks>
public readonly struct UploadId : IEquatable<UploadId>
{
    public const int Length = 16;

    public UploadId(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    public ulong Hi { get; }

    public ulong Lo { get; }

    public static UploadId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static UploadId Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            throw new ArgumentException("An upload id is 16 bytes.", nameof(source));
        }

        return new UploadId(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));
    }

    /// <summary>Parses the 32 lower-case hex digits of <see cref="ToString"/> (the name of the upload's files).</summary>
    public static bool TryParse(ReadOnlySpan<char> hex, out UploadId id)
    {
        id = default;
        Span<byte> bytes = stackalloc byte[Length];
        if (hex.Length != Length * 2 || Convert.FromHexString(hex, bytes, out _, out int written) != System.Buffers.OperationStatus.Done || written != Length)
        {
            return false;
        }

        id = Read(bytes);
        return id.ToString().AsSpan().SequenceEqual(hex); // lower case only: one name per id
    }

    public void Write(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("An upload id is 16 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
    }

    public bool Equals(UploadId other) => Hi == other.Hi && Lo == other.Lo;

    public override bool Equals(object? obj) => obj is UploadId other && Equals(other);

    public override int GetHashCode() => (int)(Hi ^ (Hi >> 32) ^ Lo ^ (Lo >> 32));

    public override string ToString() => $"{Hi:x16}{Lo:x16}";

    public static bool operator ==(UploadId left, UploadId right) => left.Equals(right);

    public static bool operator !=(UploadId left, UploadId right) => !left.Equals(right);
}
