namespace EdgeRelay.Attachments;

public sealed partial class AttachmentStore
{
    /// <summary>
    /// Rebuilds the index from the folders and removes what a crash or an expiry left: a record being
    /// written (<c>*.new</c>); an attachment's record without its blob (the crash came between the two
    /// renames of a commit) or a blob without its record; an expired attachment; an upload without a
    /// readable record, or past its deadline; a part file of no upload. An upload that survives is cut back
    /// to its last durable length: bytes after it may be garbage the disk never finished writing.
    /// </summary>
    private void Recover()
    {
        var now = _time.GetUtcNow();
        int removed = 0;
        foreach (var path in System.IO.Directory.EnumerateFiles(BlobDirectory))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(MetaExtension, StringComparison.Ordinal)
                && AttachmentId.TryParse(name.AsSpan(0, name.Length - MetaExtension.Length), out var id)
                && Records.TryDecodeAttachment(File.ReadAllBytes(path), id, out var attachment)
                && attachment.ExpiresAt > now
                && File.Exists(BlobPath(id))
                && new FileInfo(BlobPath(id)).Length == attachment.Size)
            {
                _attachments[id] = attachment;
                _usedBytes += attachment.Size;
                _storedBytes += attachment.Size;
                _ownerBytes[attachment.Owner] = _ownerBytes.GetValueOrDefault(attachment.Owner) + attachment.Size;
            }
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(BlobDirectory))
        {
            var name = Path.GetFileName(path);
            var stem = name.EndsWith(MetaExtension, StringComparison.Ordinal) ? name[..^MetaExtension.Length]
                : name.EndsWith(BlobExtension, StringComparison.Ordinal) ? name[..^BlobExtension.Length]
                : null;
            if (stem is null || !AttachmentId.TryParse(stem, out var id) || !_attachments.ContainsKey(id))
            {
                DeleteQuietly(path);
                removed++;
            }
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(UploadDirectory, "*" + UploadExtension))
        {
            var stem = Path.GetFileName(path)[..^UploadExtension.Length];
            if (UploadId.TryParse(stem, out var id) && TryRecoverUpload(id, path, now))
            {
                continue;
            }

            DeleteQuietly(path);
            removed++;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(UploadDirectory))
        {
            var name = Path.GetFileName(path);
            var keep = name.EndsWith(UploadExtension, StringComparison.Ordinal)
                || (name.EndsWith(PartExtension, StringComparison.Ordinal)
                    && UploadId.TryParse(name.AsSpan(0, name.Length - PartExtension.Length), out var id)
                    && _uploads.ContainsKey(id));
            if (!keep)
            {
                DeleteQuietly(path);
                removed++;
            }
        }

        if (removed > 0)
        {
            DirectorySync.Flush(BlobDirectory);
            DirectorySync.Flush(UploadDirectory);
        }

        AttachmentLog.Opened(_logger, _attachments.Count, _storedBytes, _uploads.Count, removed);
    }

    private bool TryRecoverUpload(UploadId id, string recordPath, DateTimeOffset now)
    {
        if (!Records.TryDecodeUpload(File.ReadAllBytes(recordPath), out var size, out var digest, out var durable, out var deadline, out var owner)
            || DateTimeOffset.FromUnixTimeSeconds(deadline) <= now)
        {
            return false;
        }

        var upload = new Upload(id, size, digest, owner, UploadDirectory);
        var part = new FileInfo(upload.PartPath);
        if (!part.Exists || part.Length < durable)
        {
            DeleteQuietly(upload.PartPath);
            return false;
        }

        if (part.Length > durable)
        {
            using var stream = new FileStream(upload.PartPath, FileMode.Open, FileAccess.Write);
            stream.SetLength(durable);
            stream.Flush(flushToDisk: true);
        }

        upload.Received = durable;
        upload.Durable = durable;
        upload.Deadline = DateTimeOffset.FromUnixTimeSeconds(deadline);
        _uploads[id] = upload;
        _usedBytes += size;
        _ownerBytes[owner] = _ownerBytes.GetValueOrDefault(owner) + size;

        // Counted even past the limits (lowered since they began): they end as usual, and new ones wait for room.
        _ownerUploads[owner] = _ownerUploads.GetValueOrDefault(owner) + 1;
        _openUploads++;
        return true;
    }
}
