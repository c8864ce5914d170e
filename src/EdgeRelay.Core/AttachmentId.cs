using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace EdgeRelay;

/// <summary>
/// The name of a stored attachment: 16 random bytes from a CSPRNG, written in URLs and file names as 22
/// characters of base64url without padding. The URL is the only capability a downloader needs, so the
/// id must be unguessable (128 bits) and is never derived from the content or the upload.
/// </summary>
public readonly struct AttachmentId : IEquatable<AttachmentId>
{
    public const int Length = 16;

    /// <summary>Characters of the text form: ceil(16 × 8 / 6).</summary>
    public const int TextLength = 22;

    public AttachmentId(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    public ulong Hi { get; }

    public ulong Lo { get; }

    public static AttachmentId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static AttachmentId Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            throw new ArgumentException("An attachment id is 16 bytes.", nameof(source));
        }

        return new AttachmentId(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));
    }

    /// <summary>
    /// Parses the text form. Only the canonical spelling is accepted (22 base64url characters whose last
    /// one carries no stray low bits), so that one attachment has exactly one URL.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out AttachmentId id)
    {
        id = default;
        Span<byte> bytes = stackalloc byte[Length + 2];
        if (text.Length != TextLength
            || Base64Url.DecodeFromChars(text, bytes, out int consumed, out int written) != System.Buffers.OperationStatus.Done
            || consumed != TextLength || written != Length)
        {
            return false;
        }

        id = Read(bytes);
        return id.ToString().AsSpan().SequenceEqual(text);
    }

    public void Write(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("An attachment id is 16 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
    }

    public bool Equals(AttachmentId other) => Hi == other.Hi && Lo == other.Lo;

    public override bool Equals(object? obj) => obj is AttachmentId other && Equals(other);

    public override int GetHashCode() => (int)(Hi ^ (Hi >> 32) ^ Lo ^ (Lo >> 32));

    /// <summary>The 22-character base64url form used in URLs and file names.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        Write(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool operator ==(AttachmentId left, AttachmentId right) => left.Equals(right);

    public static bool operator !=(AttachmentId left, AttachmentId right) => !left.Equals(right);
}
