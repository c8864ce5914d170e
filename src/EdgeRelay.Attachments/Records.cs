using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace EdgeRelay.Attachments;

/// <summary>
/// The two small metadata files of the store and how they reach the disk. Each is written whole into a
/// <c>.new</c> file, fsynced, renamed over its name, and the directory fsynced: a reader finds the old
/// record or the new one, never a torn one.
/// </summary>
/// <remarks>
/// Layout (big-endian): magic (4: "ERUP" for an upload, "ERAT" for an attachment), version u8 = 1, size u64,
/// SHA-256 (32), then for an upload: received u64, deadline (unix s, i64); for an attachment: stored at
/// (unix ms, i64), expires at (unix s, i64); then owner length u8 and the owner (UTF-8).
/// </remarks>
internal static class Records
{
    public const int DigestLength = 32;

    private const byte Version = 1;
    private const int FixedLength = 4 + 1 + 8 + DigestLength + 8 + 8 + 1;

    // The unix times a DateTimeOffset can hold: a record with another is corrupt or foreign, refused like a torn
    // one rather than thrown on by DateTimeOffset.FromUnixTime* during recovery.
    private static readonly long MinUnixSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();
    private static readonly long MinUnixMilliseconds = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private static ReadOnlySpan<byte> UploadMagic => "ERUP"u8;

    private static ReadOnlySpan<byte> AttachmentMagic => "ERAT"u8;

    public static byte[] EncodeUpload(long size, ReadOnlySpan<byte> digest, long received, long deadlineUnixSeconds, string owner) =>
        Encode(UploadMagic, size, digest, received, deadlineUnixSeconds, owner);

    public static byte[] EncodeAttachment(StoredAttachment attachment) =>
        Encode(AttachmentMagic, attachment.Size, attachment.Sha256, attachment.StoredAt.ToUnixTimeMilliseconds(), attachment.ExpiresAt.ToUnixTimeSeconds(), attachment.Owner);

    public static bool TryDecodeUpload(ReadOnlySpan<byte> bytes, out long size, out byte[] digest, out long received, out long deadlineUnixSeconds, out string owner) =>
        TryDecode(bytes, UploadMagic, out size, out digest, out received, out deadlineUnixSeconds, out owner) && received >= 0 && received <= size;

    public static bool TryDecodeAttachment(ReadOnlySpan<byte> bytes, AttachmentId id, out StoredAttachment attachment)
    {
        attachment = null!;
        if (!TryDecode(bytes, AttachmentMagic, out var size, out var digest, out var storedAtMs, out var expiresAt, out var owner)
            || storedAtMs < MinUnixMilliseconds || storedAtMs > MaxUnixMilliseconds)
        {
            return false;
        }

        attachment = new StoredAttachment(id, size, digest, DateTimeOffset.FromUnixTimeMilliseconds(storedAtMs), DateTimeOffset.FromUnixTimeSeconds(expiresAt), owner);
        return true;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> so that a crash leaves either the old file or the whole new one.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var temporary = path + ".new";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(Path.GetDirectoryName(path)!);
    }

    public static void Flush(SafeFileHandle handle) => RandomAccess.FlushToDisk(handle);

    private static byte[] Encode(ReadOnlySpan<byte> magic, long size, ReadOnlySpan<byte> digest, long first, long second, string owner)
    {
        var ownerBytes = Encoding.UTF8.GetBytes(owner);
        if (ownerBytes.Length > byte.MaxValue)
        {
            throw new ArgumentException("An owner name is at most 255 UTF-8 bytes.", nameof(owner));
        }

        if (digest.Length != DigestLength)
        {
            throw new ArgumentException("A digest is 32 bytes (SHA-256).", nameof(digest));
        }

        var bytes = new byte[FixedLength + ownerBytes.Length];
        var span = bytes.AsSpan();
        magic.CopyTo(span);
        span[4] = Version;
        BinaryPrimitives.WriteInt64BigEndian(span[5..], size);
        digest.CopyTo(span[13..]);
        BinaryPrimitives.WriteInt64BigEndian(span[45..], first);
        BinaryPrimitives.WriteInt64BigEndian(span[53..], second);
        span[61] = (byte)ownerBytes.Length;
        ownerBytes.CopyTo(span[62..]);
        return bytes;
    }

    private static bool TryDecode(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> magic, out long size, out byte[] digest, out long first, out long second, out string owner)
    {
        size = first = second = 0;
        digest = [];
        owner = "";
        if (bytes.Length < FixedLength || !bytes[..4].SequenceEqual(magic) || bytes[4] != Version || bytes.Length != FixedLength + bytes[61])
        {
            return false;
        }

        size = BinaryPrimitives.ReadInt64BigEndian(bytes[5..]);
        digest = bytes.Slice(13, DigestLength).ToArray();
        first = BinaryPrimitives.ReadInt64BigEndian(bytes[45..]);
        second = BinaryPrimitives.ReadInt64BigEndian(bytes[53..]);
        try
        {
            owner = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes[62..]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        // The last time field is unix seconds in both records: an upload's deadline, an attachment's expiry.
        return size > 0 && second >= MinUnixSeconds && second <= MaxUnixSeconds;
    }
}
