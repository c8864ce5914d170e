using System.Buffers;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client;

/// <summary>Attachment uploads (docs/PROTOCOL.md 4.15); the connection must have sent AUTH_TOKEN with an RM token.</summary>
public sealed partial class RelayClient
{
    /// <summary>Chunks sent before waiting for the oldest one's reply: enough to keep a link busy, few enough to stay far below the window.</summary>
    private const int ChunksInFlight = 16;

    /// <summary>
    /// Uploads a whole ciphertext and commits it: UPLOAD_BEGIN (with its SHA-256), the chunks pipelined, then
    /// UPLOAD_COMMIT. With <paramref name="resume"/> it continues an upload begun earlier, on this or an
    /// earlier connection (after a drop: connect again and call this with the same bytes and the id
    /// <paramref name="started"/> reported): UPLOAD_RESUME says how many bytes the relay holds durably, and
    /// only the rest is sent.
    /// </summary>
    /// <param name="ciphertext">The attachment, already encrypted; the relay never sees its key.</param>
    /// <param name="resume">The id of an upload to continue; null to begin a new one.</param>
    /// <param name="started">Told the new upload's id as soon as the relay gave it, before any chunk is sent.</param>
    /// <param name="cancellationToken">Stops waiting; the upload stays resumable until its deadline.</param>
    public async Task<AttachmentUploaded> UploadAttachmentAsync(ReadOnlyMemory<byte> ciphertext, UploadId? resume = null, Action<UploadId>? started = null, CancellationToken cancellationToken = default)
    {
        if (ciphertext.IsEmpty)
        {
            throw new ArgumentException("An attachment has at least one byte.", nameof(ciphertext));
        }

        UploadId upload;
        long offset;
        if (resume is { } id)
        {
            var progress = await ResumeUploadAsync(id, cancellationToken);
            if (progress.Size != ciphertext.Length)
            {
                throw new ArgumentException($"Upload {id} was begun for {progress.Size} bytes, not {ciphertext.Length}.", nameof(ciphertext));
            }

            (upload, offset) = (id, progress.Received);
        }
        else
        {
            var begun = await BeginUploadAsync(ciphertext.Length, HashAlgorithm.Sha256.Hash(ciphertext.Span), cancellationToken);
            started?.Invoke(begun.Upload);
            (upload, offset) = (begun.Upload, 0);
        }

        // UPLOAD_OFFSET means another connection (an older one, still draining) wrote meanwhile: ask again and go on.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await SendChunksAsync(upload, ciphertext, offset, cancellationToken);
                break;
            }
            catch (RelayException ex) when (ex.Code == ErrorCode.UploadOffset && attempt < 3)
            {
                offset = (await ResumeUploadAsync(upload, cancellationToken)).Received;
            }
        }

        return await CommitUploadAsync(upload, cancellationToken);
    }

    /// <summary>UPLOAD_BEGIN: declares the size and SHA-256 of the whole ciphertext.</summary>
    public async Task<UploadStarted> BeginUploadAsync(long size, ReadOnlyMemory<byte> sha256, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteUploadBegin(w, id, (ulong)s.size, s.sha256.Span), (size, sha256), cancellationToken);
        if (reply.Type != FrameType.UploadStarted || !BodyReader.TryReadUploadStarted(new ReadOnlySequence<byte>(reply.Body), out var started))
        {
            throw Unexpected(reply);
        }

        return new UploadStarted(started.Upload, (int)Math.Min(started.MaxChunk, int.MaxValue), DateTimeOffset.FromUnixTimeSeconds(started.ExpiresAtUnixSeconds));
    }

    /// <summary>UPLOAD_CHUNK: <paramref name="data"/> at <paramref name="offset"/>, which must be the bytes the relay holds so far.</summary>
    public async Task<UploadProgress> UploadChunkAsync(UploadId upload, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(data.Length, MaxUploadChunk);
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteUploadChunk(w, id, s.upload, (ulong)s.offset, s.data.Span), (upload, offset, data), cancellationToken);
        return ReadProgress(reply);
    }

    /// <summary>UPLOAD_RESUME: makes what the relay received durable and says how much that is (where to continue).</summary>
    public async Task<UploadProgress> ResumeUploadAsync(UploadId upload, CancellationToken cancellationToken = default) =>
        ReadProgress(await RequestAsync(static (w, id, s) => FrameWriter.WriteUploadId(w, FrameType.UploadResume, id, s), upload, cancellationToken));

    /// <summary>UPLOAD_COMMIT: the relay checks the length and digest and stores the attachment durably.</summary>
    public async Task<AttachmentUploaded> CommitUploadAsync(UploadId upload, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(static (w, id, s) => FrameWriter.WriteUploadId(w, FrameType.UploadCommit, id, s), upload, cancellationToken);
        if (reply.Type != FrameType.AttachmentStored || !BodyReader.TryReadAttachmentStored(new ReadOnlySequence<byte>(reply.Body), out var stored)
            || !Uri.TryCreate(stored.Uri, UriKind.Absolute, out var uri))
        {
            throw Unexpected(reply);
        }

        return new AttachmentUploaded(stored.Attachment, stored.Size, DateTimeOffset.FromUnixTimeSeconds(stored.ExpiresAtUnixSeconds), uri);
    }

    /// <summary>The largest chunk this relay reads: its request body limit less the chunk's header.</summary>
    public int MaxUploadChunk => UploadChunk.MaxData(ServerInfo.MaxRequestBody);

    private async Task SendChunksAsync(UploadId upload, ReadOnlyMemory<byte> ciphertext, long offset, CancellationToken cancellationToken)
    {
        int chunk = MaxUploadChunk;
        var pending = new Queue<Task<UploadProgress>>();
        try
        {
            for (long at = offset; at < ciphertext.Length; at += chunk)
            {
                if (pending.Count == ChunksInFlight)
                {
                    await pending.Dequeue();
                }

                var length = (int)Math.Min(chunk, ciphertext.Length - at);
                pending.Enqueue(UploadChunkAsync(upload, at, ciphertext.Slice((int)at, length), cancellationToken));
            }

            while (pending.Count > 0)
            {
                await pending.Dequeue();
            }
        }
        catch
        {
            // The chunks behind a failed one fail too (or never get a reply): observe them before rethrowing.
            await ((Task)Task.WhenAll(pending)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
    }

    private static UploadProgress ReadProgress(in Reply reply)
    {
        if (reply.Type != FrameType.UploadProgress || !BodyReader.TryReadUploadProgress(new ReadOnlySequence<byte>(reply.Body), out var progress))
        {
            throw Unexpected(reply);
        }

        return new UploadProgress(progress.Upload, progress.Received, progress.Size, DateTimeOffset.FromUnixTimeSeconds(progress.ExpiresAtUnixSeconds));
    }
}
