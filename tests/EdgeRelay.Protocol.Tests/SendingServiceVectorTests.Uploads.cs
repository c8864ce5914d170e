using System.Buffers;
using System.Security.Cryptography;
using EdgeRelay.Testing;

namespace EdgeRelay.Protocol.Tests;

// An upload in two chunks, resumed between them, and its commit (PROTOCOL.md 4.15).
public sealed partial class SendingServiceVectorTests
{
    private const uint UploadBeginId = 7;
    private const uint FirstChunkId = 8;
    private const uint UploadResumeId = 9;
    private const uint SecondChunkId = 10;
    private const uint UploadCommitId = 11;

    [Fact]
    public void An_upload_in_two_chunks_resumed_between_them_and_committed() => CheckUpload(ProtocolVectors.Load());

    private static void CheckUpload(ProtocolVectors v)
    {
        var blob = v.Bytes("upload.blob");
        var size = v.Number("upload.size");
        var sha256 = v.Bytes("upload.sha256");
        Assert.Equal(blob.Length, size);
        Assert.Equal(SHA256.HashData(blob), sha256);

        AssertWrites(v, "upload.begin_frame", w => FrameWriter.WriteUploadBegin(w, UploadBeginId, (ulong)size, sha256));
        AssertReads(v, "upload.begin_frame", FrameType.UploadBegin, UploadBeginId, body =>
        {
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadBegin(body, out var begin));
            Assert.Equal((ulong)size, begin.Size);
            Assert.Equal(sha256, begin.Sha256.ToArray());
        });

        // max_chunk is max_request_body less the chunk's 24-byte header: 21,482 with the default limits.
        var upload = UploadId.Read(v.Bytes("upload.upload_id"));
        var started = new UploadStartedReply(upload, checked((uint)v.Number("upload.max_chunk")), v.Number("upload.started_expires_at"));
        Assert.Equal(UploadChunk.MaxData(ProtocolConstants.MaxRequestBody(ProtocolConstants.DefaultMaxCiphertext)), (int)started.MaxChunk);
        AssertReads(v, "upload.started_frame", FrameType.UploadStarted, UploadBeginId, body =>
        {
            Assert.True(BodyReader.TryReadUploadStarted(body, out var read));
            Assert.Equal(started, read);
        });
        AssertWrites(v, "upload.started_frame", w => FrameWriter.WriteUploadStarted(w, UploadBeginId, started));

        var first = AssertChunk(v, "chunk1", FirstChunkId, upload, size);
        Assert.Equal(0, first.Offset);

        // UPLOAD_RESUME answers with what the first chunk brought, and leaves its deadline where the chunk put it.
        AssertUploadIdFrame(v, "upload.resume_frame", FrameType.UploadResume, UploadResumeId, upload);
        AssertProgress(v, "upload.resume_progress_frame", UploadResumeId, new(upload, first.Data.Length, size, first.ExpiresAt));

        var second = AssertChunk(v, "chunk2", SecondChunkId, upload, size);
        Assert.Equal(first.Data.Length, second.Offset);
        Assert.Equal(blob, first.Data.Concat(second.Data).ToArray());

        AssertUploadIdFrame(v, "upload.commit_frame", FrameType.UploadCommit, UploadCommitId, upload);
        var attachment = AttachmentId.Read(v.Bytes("upload.attachment_id"));
        var uri = v.Text("upload.uri");
        Assert.Equal("https://files.example.org/a/" + attachment, uri); // {base}/a/{id}, the id in base64url
        var stored = new AttachmentStoredReply(attachment, size, v.Number("upload.attachment_expires_at"), uri);
        AssertReads(v, "upload.stored_frame", FrameType.AttachmentStored, UploadCommitId, body =>
        {
            Assert.True(BodyReader.TryReadAttachmentStored(body, out var read));
            Assert.Equal(stored, read);
        });
        AssertWrites(v, "upload.stored_frame", w => FrameWriter.WriteAttachmentStored(w, UploadCommitId, stored));
        AssertError(v, "upload.commit_unknown_frame", UploadCommitId, ErrorCode.UploadUnknown);
    }

    /// <summary>upload.{chunk}_frame at its offset with its data, and the UPLOAD_PROGRESS that answers it.</summary>
    private static (long Offset, byte[] Data, long ExpiresAt) AssertChunk(ProtocolVectors v, string chunk, uint requestId, UploadId upload, long size)
    {
        var offset = v.Number($"upload.{chunk}_offset");
        var data = v.Bytes($"upload.{chunk}_data");
        AssertWrites(v, $"upload.{chunk}_frame", w => FrameWriter.WriteUploadChunk(w, requestId, upload, (ulong)offset, data));
        AssertReads(v, $"upload.{chunk}_frame", FrameType.UploadChunk, requestId, body =>
        {
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadUploadChunk(body, out var readUpload, out var readOffset, out var readData));
            Assert.Equal((upload, (ulong)offset), (readUpload, readOffset));
            Assert.Equal(data, readData.ToArray());
        });

        var expiresAt = v.Number($"upload.{chunk}_expires_at");
        AssertProgress(v, $"upload.{chunk}_progress_frame", requestId, new(upload, offset + data.Length, size, expiresAt));
        return (offset, data, expiresAt);
    }

    /// <summary>UPLOAD_RESUME or UPLOAD_COMMIT: the upload id alone.</summary>
    private static void AssertUploadIdFrame(ProtocolVectors v, string name, FrameType type, uint requestId, UploadId upload)
    {
        AssertWrites(v, name, w => FrameWriter.WriteUploadId(w, type, requestId, upload));
        AssertReads(v, name, type, requestId, body =>
        {
            Assert.True(BodyReader.TryReadUploadId(body, out var read));
            Assert.Equal(upload, read);
        });
    }

    private static void AssertProgress(ProtocolVectors v, string name, uint requestId, UploadProgressReply expected)
    {
        AssertReads(v, name, FrameType.UploadProgress, requestId, body =>
        {
            Assert.True(BodyReader.TryReadUploadProgress(body, out var read));
            Assert.Equal(expected, read);
        });
        AssertWrites(v, name, w => FrameWriter.WriteUploadProgress(w, requestId, expected));
    }
}
