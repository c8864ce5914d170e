using System.Buffers;
using NSec.Cryptography;

namespace EdgeRelay.Attachments;

public sealed partial class AttachmentStore
{
    /// <summary>
    /// Starts an upload of <paramref name="size"/> bytes whose SHA-256 will be <paramref name="sha256"/>:
    /// reserves the size against the budget (and against <paramref name="ownerQuota"/> bytes of
    /// <paramref name="owner"/>, 0 for no quota), creates its empty part file and writes its record durably,
    /// so that the returned id survives a restart.
    /// </summary>
    public UploadState Begin(long size, ReadOnlySpan<byte> sha256, string owner, long ownerQuota = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (sha256.Length != Records.DigestLength)
        {
            throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(sha256));
        }

        if (size > _options.MaxBytes)
        {
            return UploadState.Refused(UploadStatus.TooLarge, size: size);
        }

        var reserved = Reserve(owner, size, ownerQuota);
        if (reserved != UploadStatus.Ok)
        {
            return UploadState.Refused(reserved, size: size);
        }

        var upload = new Upload(UploadId.NewRandom(), size, sha256.ToArray(), owner, UploadDirectory)
        {
            Deadline = _time.GetUtcNow() + _options.UploadTimeout,
        };
        try
        {
            File.Create(upload.PartPath).Dispose();
            WriteRecord(upload);
        }
        catch
        {
            Drop(upload);
            throw;
        }

        _uploads[upload.Id] = upload;
        Interlocked.Increment(ref _uploadsStarted);
        return State(upload);
    }

    /// <summary>
    /// Writes <paramref name="data"/> at <paramref name="offset"/>, which must be the bytes received so far,
    /// and must not reach past the declared size. The bytes are in the operating system's hands, not yet
    /// fsynced: <see cref="ResumeAsync"/> and <see cref="CommitAsync"/> make them durable.
    /// </summary>
    public async ValueTask<UploadState> AppendAsync(UploadId id, long offset, ReadOnlySequence<byte> data, CancellationToken cancellationToken = default)
    {
        if (!_uploads.TryGetValue(id, out var upload))
        {
            return UploadState.Refused(UploadStatus.Unknown);
        }

        await upload.Gate.WaitAsync(cancellationToken);
        try
        {
            if (!IsLive(upload))
            {
                return UploadState.Refused(UploadStatus.Unknown);
            }

            if (offset != upload.Received || data.Length > upload.Size - offset)
            {
                return UploadState.Refused(UploadStatus.WrongOffset, upload.Received, upload.Size);
            }

            using (var handle = File.OpenHandle(upload.PartPath, FileMode.Open, FileAccess.Write))
            {
                long position = offset;
                foreach (var segment in data)
                {
                    await RandomAccess.WriteAsync(handle, segment, position, cancellationToken);
                    position += segment.Length;
                }
            }

            upload.Received += data.Length;
            upload.Deadline = _time.GetUtcNow() + _options.UploadTimeout;
            Interlocked.Add(ref _bytesReceived, data.Length);
            return State(upload);
        }
        finally
        {
            upload.Gate.Release();
        }
    }

    /// <summary>
    /// Makes every byte received so far durable (fsync, then the record says so) and reports that count:
    /// the offset a client continues from after losing its connection. After a crash of the relay, the
    /// count is what the last resume (or the start) recorded, never a byte more, so no lost byte is skipped.
    /// </summary>
    public async ValueTask<UploadState> ResumeAsync(UploadId id, CancellationToken cancellationToken = default)
    {
        if (!_uploads.TryGetValue(id, out var upload))
        {
            return UploadState.Refused(UploadStatus.Unknown);
        }

        await upload.Gate.WaitAsync(cancellationToken);
        try
        {
            if (!IsLive(upload))
            {
                return UploadState.Refused(UploadStatus.Unknown);
            }

            if (upload.Durable != upload.Received)
            {
                using (var handle = File.OpenHandle(upload.PartPath, FileMode.Open, FileAccess.Write))
                {
                    Records.Flush(handle);
                }

                WriteRecord(upload);
            }

            return State(upload);
        }
        finally
        {
            upload.Gate.Release();
        }
    }

    /// <summary>
    /// Turns a complete upload into an attachment: fsyncs its bytes, checks their SHA-256 against the
    /// declared one (by reading back what is on disk), writes the attachment's record, and renames the part
    /// file into place under a fresh random id. Before every byte arrived: <see cref="UploadStatus.Incomplete"/>,
    /// the upload stays. With the wrong digest: <see cref="UploadStatus.DigestMismatch"/>, the upload is dropped
    /// (its bytes can never be right). Only a returned attachment is readable, and it survives a crash.
    /// </summary>
    public async ValueTask<CommitResult> CommitAsync(UploadId id, CancellationToken cancellationToken = default)
    {
        if (!_uploads.TryGetValue(id, out var upload))
        {
            return new CommitResult(UploadStatus.Unknown, null, 0, 0);
        }

        await upload.Gate.WaitAsync(cancellationToken);
        try
        {
            if (!IsLive(upload))
            {
                return new CommitResult(UploadStatus.Unknown, null, 0, 0);
            }

            if (upload.Received != upload.Size)
            {
                return new CommitResult(UploadStatus.Incomplete, null, upload.Received, upload.Size);
            }

            if (!await HasDigestAsync(upload, cancellationToken))
            {
                AttachmentLog.DigestMismatch(_logger, upload.Id.ToString());
                Drop(upload);
                return new CommitResult(UploadStatus.DigestMismatch, null, upload.Size, upload.Size);
            }

            var attachmentId = AttachmentId.NewRandom();
            while (_attachments.ContainsKey(attachmentId) || File.Exists(BlobPath(attachmentId)))
            {
                attachmentId = AttachmentId.NewRandom();
            }

            var now = _time.GetUtcNow();
            var attachment = new StoredAttachment(attachmentId, upload.Size, upload.Sha256, now, now + _options.Expiry, upload.Owner);
            if (!await ReplicateAsync(upload, attachment, cancellationToken))
            {
                return new CommitResult(UploadStatus.NotReplicated, null, upload.Size, upload.Size);
            }

            // The record first, then the blob: a crash between the two leaves a record without a blob, which
            // the next start removes; a blob is never under its final name without what serves it.
            Records.WriteAtomically(MetaPath(attachmentId), Records.EncodeAttachment(attachment));
            File.Move(upload.PartPath, BlobPath(attachmentId));
            DirectorySync.Flush(BlobDirectory);
            DirectorySync.Flush(UploadDirectory);
            upload.Ended = true;
            _uploads.TryRemove(new KeyValuePair<UploadId, Upload>(upload.Id, upload));
            DeleteQuietly(upload.RecordPath);
            UploadEnded(upload.Owner);
            lock (_budget)
            {
                // The reservation made at the start now counts the blob: the used total does not change.
                Volatile.Write(ref _storedBytes, _storedBytes + upload.Size);
            }

            _attachments[attachmentId] = attachment;
            Interlocked.Increment(ref _uploadsCommitted);
            AttachmentLog.Stored(_logger, attachmentId.ToString(), attachment.Size);
            return new CommitResult(UploadStatus.Ok, attachment, upload.Size, upload.Size);
        }
        finally
        {
            upload.Gate.Release();
        }
    }

    /// <summary>Not ended and not past its deadline (an expired upload the sweep has not reached yet is dropped here).</summary>
    private bool IsLive(Upload upload)
    {
        if (upload.Ended)
        {
            return false;
        }

        if (upload.Deadline <= _time.GetUtcNow())
        {
            Drop(upload);
            Interlocked.Increment(ref _uploadsExpired);
            AttachmentLog.UploadExpired(_logger, upload.Id.ToString(), upload.Received, upload.Size);
            return false;
        }

        return true;
    }

    private static UploadState State(Upload upload) => new(UploadStatus.Ok, upload.Id, upload.Received, upload.Size, upload.Deadline);

    /// <summary>Records what is durable now: everything received (the caller fsynced it), and the deadline.</summary>
    private static void WriteRecord(Upload upload)
    {
        Records.WriteAtomically(upload.RecordPath, Records.EncodeUpload(upload.Size, upload.Sha256, upload.Received, upload.Deadline.ToUnixTimeSeconds(), upload.Owner));
        upload.Durable = upload.Received;
    }

    private static async ValueTask<bool> HasDigestAsync(Upload upload, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var handle = File.OpenHandle(upload.PartPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous);
            Records.Flush(handle);
            IncrementalHash.Initialize(HashAlgorithm.Sha256, out var state);
            long position = 0;
            while (position < upload.Size)
            {
                int read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, (int)Math.Min(buffer.Length, upload.Size - position)), position, cancellationToken);
                if (read == 0)
                {
                    return false;
                }

                IncrementalHash.Update(ref state, buffer.AsSpan(0, read));
                position += read;
            }

            Span<byte> digest = stackalloc byte[Records.DigestLength];
            IncrementalHash.Finalize(ref state, digest);
            return digest.SequenceEqual(upload.Sha256);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
