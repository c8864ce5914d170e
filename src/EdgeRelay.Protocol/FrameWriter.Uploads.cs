using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EdgeRelay.Protocol;

/// <summary>The attachment upload frames (docs/PROTOCOL.md 4.15).</summary>
public static partial class FrameWriter
{
    public static void WriteUploadBegin(IBufferWriter<byte> output, uint requestId, ulong size, ReadOnlySpan<byte> sha256)
    {
        var span = Begin(output, FrameType.UploadBegin, requestId, UploadBeginRequest.Length);
        BinaryPrimitives.WriteUInt64BigEndian(span, size);
        CopyExactly(sha256, span.Slice(8, UploadBeginRequest.DigestLength));
        output.Advance(ProtocolConstants.HeaderLength + UploadBeginRequest.Length);
    }

    public static void WriteUploadStarted(IBufferWriter<byte> output, uint requestId, in UploadStartedReply reply)
    {
        var span = Begin(output, FrameType.UploadStarted, requestId, UploadStartedReply.Length);
        reply.Upload.Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[16..], reply.MaxChunk);
        BinaryPrimitives.WriteInt64BigEndian(span[20..], reply.ExpiresAtUnixSeconds);
        output.Advance(ProtocolConstants.HeaderLength + UploadStartedReply.Length);
    }

    public static void WriteUploadChunk(IBufferWriter<byte> output, uint requestId, UploadId upload, ulong offset, ReadOnlySpan<byte> data)
    {
        int length = UploadChunk.HeaderLength + data.Length;
        var span = Begin(output, FrameType.UploadChunk, requestId, length);
        upload.Write(span);
        BinaryPrimitives.WriteUInt64BigEndian(span[16..], offset);
        data.CopyTo(span[UploadChunk.HeaderLength..]);
        output.Advance(ProtocolConstants.HeaderLength + length);
    }

    /// <summary>UPLOAD_RESUME or UPLOAD_COMMIT: the upload id alone.</summary>
    public static void WriteUploadId(IBufferWriter<byte> output, FrameType type, uint requestId, UploadId upload)
    {
        if (type is not (FrameType.UploadResume or FrameType.UploadCommit))
        {
            throw new ArgumentOutOfRangeException(nameof(type), "Only UPLOAD_RESUME and UPLOAD_COMMIT carry an upload id alone.");
        }

        var span = Begin(output, type, requestId, UploadId.Length);
        upload.Write(span);
        output.Advance(ProtocolConstants.HeaderLength + UploadId.Length);
    }

    public static void WriteUploadProgress(IBufferWriter<byte> output, uint requestId, in UploadProgressReply reply)
    {
        var span = Begin(output, FrameType.UploadProgress, requestId, UploadProgressReply.Length);
        reply.Upload.Write(span);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], reply.Received);
        BinaryPrimitives.WriteInt64BigEndian(span[24..], reply.Size);
        BinaryPrimitives.WriteInt64BigEndian(span[32..], reply.ExpiresAtUnixSeconds);
        output.Advance(ProtocolConstants.HeaderLength + UploadProgressReply.Length);
    }

    public static void WriteAttachmentStored(IBufferWriter<byte> output, uint requestId, in AttachmentStoredReply reply)
    {
        var uri = Encoding.UTF8.GetBytes(reply.Uri);
        if (uri.Length is 0 or > AttachmentStoredReply.MaxUriBytes)
        {
            throw new ArgumentException($"An attachment URI is 1 to {AttachmentStoredReply.MaxUriBytes} bytes.", nameof(reply));
        }

        int length = AttachmentStoredReply.FixedLength + uri.Length;
        var span = Begin(output, FrameType.AttachmentStored, requestId, length);
        reply.Attachment.Write(span);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], reply.Size);
        BinaryPrimitives.WriteInt64BigEndian(span[24..], reply.ExpiresAtUnixSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(span[32..], (ushort)uri.Length);
        uri.CopyTo(span[34..]);
        output.Advance(ProtocolConstants.HeaderLength + length);
    }
}
