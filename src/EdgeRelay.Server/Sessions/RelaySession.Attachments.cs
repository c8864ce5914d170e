using System.Buffers;
using EdgeRelay.Attachments;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Server;

// Attachment uploads (docs/PROTOCOL.md 4.15): UPLOAD_BEGIN, UPLOAD_CHUNK, UPLOAD_RESUME, UPLOAD_COMMIT. Only a
// connection holding an RM token may upload: the relay keeps ciphertext on disk for its operator's RMs, and
// anonymous disk use would be a hole. The store does the file work; these handlers map its outcomes to frames.
public sealed partial class RelaySession
{
    private ValueTask HandleUploadBegin(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        var status = BodyReader.ReadUploadBegin(body, out var request);
        if (status != BodyStatus.Ok)
        {
            return FailBody(requestId, status, "UPLOAD_BEGIN body must be 40 bytes", "an attachment has at least one byte");
        }

        var store = _server.Attachments;
        if (request.Size > (ulong)store.MaxBytes)
        {
            return Fail(requestId, ErrorCode.AttachmentTooLarge, "the declared size exceeds the relay's largest attachment");
        }

        // Stored under the token's id, so that its quota follows its attachments across connections and restarts.
        var token = _token!;
        var state = store.Begin((long)request.Size, request.Sha256.Span, token.Id, token.Limits.MaxAttachmentBytes);
        if (state.Status != UploadStatus.Ok)
        {
            return RefuseUpload(requestId, state.Status, state.Received, state.Size);
        }

        var frame = new ArrayBufferWriter<byte>(ProtocolConstants.HeaderLength + UploadStartedReply.Length);
        FrameWriter.WriteUploadStarted(frame, requestId, new UploadStartedReply(state.Id, (uint)_server.MaxUploadChunk, state.ExpiresAt.ToUnixTimeSeconds()));
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    private ValueTask HandleUploadChunk(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthoriseChunk(requestId, out var refusal))
        {
            return refusal;
        }

        var status = BodyReader.ReadUploadChunk(body, out var upload, out var offset, out var data);
        if (status != BodyStatus.Ok)
        {
            return FailBody(requestId, status, "UPLOAD_CHUNK body is shorter than its 24-byte header", "a chunk carries at least one byte");
        }

        // The read loop advances past this frame only once the handler completed: the data slice stays valid.
        return AppendChunkAsync(requestId, upload, (long)Math.Min(offset, long.MaxValue), data);
    }

    private async ValueTask AppendChunkAsync(uint requestId, UploadId upload, long offset, ReadOnlySequence<byte> data)
    {
        var state = await _server.Attachments.AppendAsync(upload, offset, data, _aborted.Token);
        await ReplyProgress(requestId, state);
    }

    private ValueTask HandleUploadResume(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        return BodyReader.TryReadUploadId(body, out var upload)
            ? ResumeAsync(requestId, upload)
            : Fail(requestId, ErrorCode.MalformedFrame, "UPLOAD_RESUME body must be 16 bytes");
    }

    private async ValueTask ResumeAsync(uint requestId, UploadId upload)
    {
        var state = await _server.Attachments.ResumeAsync(upload, _aborted.Token);
        await ReplyProgress(requestId, state);
    }

    private ValueTask HandleUploadCommit(uint requestId, in ReadOnlySequence<byte> body)
    {
        if (!TryAuthorise(requestId, TokenRole.Rm, out var refusal))
        {
            return refusal;
        }

        return BodyReader.TryReadUploadId(body, out var upload)
            ? CommitAsync(requestId, upload)
            : Fail(requestId, ErrorCode.MalformedFrame, "UPLOAD_COMMIT body must be 16 bytes");
    }

    private async ValueTask CommitAsync(uint requestId, UploadId upload)
    {
        // The store returns once the blob and its record are fsynced under their final names: the reply
        // promises an attachment that survives a crash, so it needs no storage ticket.
        var committed = await _server.Attachments.CommitAsync(upload, _aborted.Token);
        if (committed.Attachment is not { } attachment)
        {
            await RefuseUpload(requestId, committed.Status, committed.Received, committed.Size);
            return;
        }

        var reply = new AttachmentStoredReply(attachment.Id, attachment.Size, attachment.ExpiresAt.ToUnixTimeSeconds(), _server.AttachmentUrlPrefix + attachment.Id);
        var frame = new ArrayBufferWriter<byte>(128);
        FrameWriter.WriteAttachmentStored(frame, requestId, reply);
        await ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    /// <summary>
    /// A chunk is checked for its token like every sending-service request (NOT_AUTHORISED, TOKEN_REVOKED) but
    /// takes nothing from the token's request rate: an upload's bytes are bounded by its declared size and
    /// the token's quota, and a rate per chunk would cap an RM's bandwidth (a 100 MiB upload is ~5,000 chunks).
    /// </summary>
    private bool TryAuthoriseChunk(uint requestId, out ValueTask refusal)
    {
        var token = _token;
        if (token is null || token.Role != TokenRole.Rm || token.IsRevoked)
        {
            // The same refusal as every other request of the connection would get, taking no rate.
            return TryAuthorise(requestId, TokenRole.Rm, out refusal);
        }

        refusal = default;
        return true;
    }

    private ValueTask ReplyProgress(uint requestId, in UploadState state)
    {
        if (state.Status != UploadStatus.Ok)
        {
            return RefuseUpload(requestId, state.Status, state.Received, state.Size);
        }

        var frame = new ArrayBufferWriter<byte>(ProtocolConstants.HeaderLength + UploadProgressReply.Length);
        FrameWriter.WriteUploadProgress(frame, requestId, new UploadProgressReply(state.Id, state.Received, state.Size, state.ExpiresAt.ToUnixTimeSeconds()));
        return ReplyAsync(OutboxItem.Frame(frame.WrittenSpan.ToArray()));
    }

    private ValueTask RefuseUpload(uint requestId, UploadStatus status, long received, long size) => status switch
    {
        UploadStatus.TooLarge => Fail(requestId, ErrorCode.AttachmentTooLarge, "the declared size exceeds the relay's largest attachment"),
        UploadStatus.OverBudget => Fail(requestId, ErrorCode.QuotaAttachments, "the relay's attachment disk budget is used up; retry later"),
        UploadStatus.OverOwnerQuota => Fail(requestId, ErrorCode.QuotaToken, "the token's attachment quota is used up; retry later"),
        UploadStatus.TooManyUploads => Fail(requestId, ErrorCode.QuotaAttachments, "the relay holds as many uploads in progress as it allows; retry later"),
        UploadStatus.TooManyOwnerUploads => Fail(requestId, ErrorCode.QuotaToken, "this token has as many uploads in progress as it may; finish one first"),
        UploadStatus.Unknown => Fail(requestId, ErrorCode.UploadUnknown, "no upload in progress with this id"),
        UploadStatus.WrongOffset => Fail(requestId, ErrorCode.UploadOffset, $"the next chunk must start at offset {received} (declared size {size})"),
        UploadStatus.Incomplete => Fail(requestId, ErrorCode.UploadIncomplete, $"only {received} of {size} bytes received"),
        UploadStatus.DigestMismatch => Fail(requestId, ErrorCode.UploadIncomplete, "the bytes do not have the declared SHA-256; the upload is dropped"),
        UploadStatus.NotReplicated => Fail(requestId, ErrorCode.InternalError, "the relay cluster did not store the attachment; the upload stays, commit it again later"),
        _ => Fail(requestId, ErrorCode.InternalError, "unexpected upload status"),
    };
}
