using EdgeRelay.Storage;

namespace EdgeRelay.Attachments;

// A relay cluster's attachments: each committed one is also put where every node finds it (IAttachmentReplicas), and a
// node asked for one it does not hold reads it from there.
public sealed partial class AttachmentStore
{
    internal const string FetchExtension = ".fetch";

    /// <summary>
    /// On a cluster, puts the attachment where every node finds it before anything here promises it: a node lost after
    /// the uploader was told the URL loses nothing. Put from the upload's file, before the commit here: if the put
    /// fails, the upload stays as it was and a second commit tries again; a put whose commit here then fails (a crash)
    /// leaves a replica nobody was told of, which the engine drops with age.
    /// </summary>
    private async ValueTask<bool> ReplicateAsync(Upload upload, StoredAttachment attachment, CancellationToken cancellationToken)
    {
        if (_replicas is null)
        {
            return true;
        }

        try
        {
            await using var content = new FileStream(upload.PartPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var record = new AttachmentRecord(attachment.Id, attachment.Size, attachment.Sha256, attachment.StoredAt, attachment.ExpiresAt, attachment.Owner);
            await _replicas.PutAsync(record, content, cancellationToken);
            return true;
        }
        catch (IOException ex)
        {
            AttachmentLog.ReplicaPutFailed(_logger, upload.Id.ToString(), ex.Message);
            return false;
        }
    }

    /// <summary>
    /// An attachment another node of the cluster committed, read from the replicas into a temporary file of this
    /// store's (deleted once the returned stream is closed, or at the next start after a crash); null when there is
    /// none, it expired, or this store has no replicas. Not kept here: each download reads it again, so this node's
    /// disk budget and the uploader's quota count only what was uploaded here.
    /// </summary>
    public async Task<(StoredAttachment Attachment, FileStream Content)?> FetchAsync(AttachmentId id, CancellationToken cancellationToken = default)
    {
        if (_replicas is null)
        {
            return null;
        }

        FileStream? file = null;
        try
        {
            var record = await _replicas.FindAsync(id, cancellationToken);
            if (record is null || record.ExpiresAt <= _time.GetUtcNow())
            {
                return null;
            }

            file = new FileStream(Path.Combine(UploadDirectory, Guid.NewGuid().ToString("N") + FetchExtension), new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous | FileOptions.DeleteOnClose,
            });
            if (!await _replicas.CopyToAsync(id, file, cancellationToken) || file.Length != record.Size)
            {
                await file.DisposeAsync();
                return null;
            }

            file.Position = 0;
            var attachment = new StoredAttachment(record.Id, record.Size, record.Sha256, record.StoredAt, record.ExpiresAt, record.Owner);
            return (attachment, file);
        }
        catch (IOException ex)
        {
            AttachmentLog.ReplicaReadFailed(_logger, id.ToString(), ex.Message);
            if (file is not null)
            {
                await file.DisposeAsync();
            }

            return null;
        }
    }
}
