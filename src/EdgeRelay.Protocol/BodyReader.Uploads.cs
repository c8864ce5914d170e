using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>The attachment upload frames (docs/PROTOCOL.md 4.15), requests and replies.</summary>
public static partial class BodyReader
{
    /// <summary>UPLOAD_BEGIN: 40 bytes, else malformed; a size of 0 is <see cref="BodyStatus.OutOfRange"/>.</summary>
    public static BodyStatus ReadUploadBegin(in ReadOnlySequence<byte> body, out UploadBeginRequest request)
    {
        request = default;
        if (body.Length != UploadBeginRequest.Length)
        {
            return BodyStatus.Malformed;
        }

        var reader = new SequenceReader<byte>(body);
        reader.TryReadBigEndian(out long size);
        var digest = ReadBytes(ref reader, UploadBeginRequest.DigestLength);
        if (size == 0)
        {
            return BodyStatus.OutOfRange;
        }

        request = new UploadBeginRequest((ulong)size, digest);
        return BodyStatus.Ok;
    }

    /// <summary>
    /// UPLOAD_CHUNK: shorter than its 24-byte header is malformed; no data is <see cref="BodyStatus.OutOfRange"/>.
    /// <paramref name="data"/> is a slice of <paramref name="body"/>: valid only as long as the body is.
    /// </summary>
    public static BodyStatus ReadUploadChunk(in ReadOnlySequence<byte> body, out UploadId upload, out ulong offset, out ReadOnlySequence<byte> data)
    {
        upload = default;
        offset = 0;
        data = default;
        if (body.Length < UploadChunk.HeaderLength)
        {
            return BodyStatus.Malformed;
        }

        var reader = new SequenceReader<byte>(body);
        upload = ReadUploadId(ref reader);
        reader.TryReadBigEndian(out long rawOffset);
        offset = (ulong)rawOffset;
        data = body.Slice(UploadChunk.HeaderLength);
        return data.IsEmpty ? BodyStatus.OutOfRange : BodyStatus.Ok;
    }

    /// <summary>UPLOAD_RESUME and UPLOAD_COMMIT: exactly the 16-byte upload id.</summary>
    public static bool TryReadUploadId(in ReadOnlySequence<byte> body, out UploadId upload)
    {
        upload = default;
        if (body.Length != UploadId.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        upload = ReadUploadId(ref reader);
        return true;
    }

    public static bool TryReadUploadStarted(in ReadOnlySequence<byte> body, out UploadStartedReply reply)
    {
        reply = default;
        if (body.Length != UploadStartedReply.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        var upload = ReadUploadId(ref reader);
        reader.TryReadBigEndian(out int maxChunk);
        reader.TryReadBigEndian(out long expires);
        reply = new UploadStartedReply(upload, (uint)maxChunk, expires);
        return true;
    }

    public static bool TryReadUploadProgress(in ReadOnlySequence<byte> body, out UploadProgressReply reply)
    {
        reply = default;
        if (body.Length != UploadProgressReply.Length)
        {
            return false;
        }

        var reader = new SequenceReader<byte>(body);
        var upload = ReadUploadId(ref reader);
        reader.TryReadBigEndian(out long received);
        reader.TryReadBigEndian(out long size);
        reader.TryReadBigEndian(out long expires);
        if (received < 0 || size < 0 || received > size)
        {
            return false;
        }

        reply = new UploadProgressReply(upload, received, size, expires);
        return true;
    }

    public static bool TryReadAttachmentStored(in ReadOnlySequence<byte> body, out AttachmentStoredReply reply)
    {
        reply = default;
        var reader = new SequenceReader<byte>(body);
        if (body.Length < AttachmentStoredReply.FixedLength)
        {
            return false;
        }

        Span<byte> id = stackalloc byte[AttachmentId.Length];
        reader.TryCopyTo(id);
        reader.Advance(AttachmentId.Length);
        reader.TryReadBigEndian(out long size);
        reader.TryReadBigEndian(out long expires);
        reader.TryReadBigEndian(out short rawLength);
        int uriLength = (ushort)rawLength;
        if (reader.Remaining != uriLength || uriLength is 0 or > AttachmentStoredReply.MaxUriBytes || size < 0)
        {
            return false;
        }

        try
        {
            reply = new AttachmentStoredReply(AttachmentId.Read(id), size, expires, StrictUtf8.GetString(reader.UnreadSequence));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        return true;
    }

    private static UploadId ReadUploadId(ref SequenceReader<byte> reader)
    {
        Span<byte> bytes = stackalloc byte[UploadId.Length];
        reader.TryCopyTo(bytes);
        reader.Advance(bytes.Length);
        return new UploadId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }
}
