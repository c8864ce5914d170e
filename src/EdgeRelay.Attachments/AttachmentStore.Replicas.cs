using EdgeRelay.Storage;

namespace EdgeRelay.Attachments;

// A relay cluster's attachments: each committed one is also put where every node finds it (IAttachmentReplicas), and a
// node asked for one it does not hold reads it from there.
public sealed partial class AttachmentStore
{
    internal const string FetchExtension = ".fetch";

    private readonly SemaphoreSlim _fetches = new(MaxConcurrentFetches);

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

    /// <summary>Downloads read from the replicas and served at once, at most: each holds a temporary file of the attachment's size until closed.</summary>
    public const int MaxConcurrentFetches = 16;

    /// <summary>
    /// An attachment another node of the cluster committed, read from the replicas into a temporary file of this
    /// store's (deleted once the returned stream is closed, or at the next start after a crash); null when there is
    /// none, it expired, or this store has no replicas. Not kept here: each download reads it again, so this node's
    /// disk budget and the uploader's quota count only what was uploaded here.
    /// </summary>
    /// <exception cref="IOException">The cluster did not answer, the bytes read were not the attachment's, or <see cref="MaxConcurrentFetches"/> are under way: try again later.</exception>
    public async Task<(StoredAttachment Attachment, FileStream Content)?> FetchAsync(AttachmentId id, CancellationToken cancellationToken = default)
    {
        if (_replicas is null)
        {
            return null;
        }

        if (!_fetches.Wait(0, CancellationToken.None))
        {
            throw new IOException($"{MaxConcurrentFetches} attachments are being read from the cluster already.");
        }

        FileStream? file = null;
        var returned = false;
        try
        {
            var record = await _replicas.FindAsync(id, cancellationToken);
            if (record is null || record.ExpiresAt <= _time.GetUtcNow())
            {
                return null;
            }

            file = new FetchedFile(Path.Combine(UploadDirectory, Guid.NewGuid().ToString("N") + FetchExtension), _fetches);
            if (!await _replicas.CopyToAsync(id, file, cancellationToken))
            {
                await file.DisposeAsync();
                return null; // removed meanwhile
            }

            if (file.Length != record.Size)
            {
                throw new IOException($"The cluster holds {file.Length} bytes for attachment {id}, not {record.Size}.");
            }

            file.Position = 0;
            var attachment = new StoredAttachment(record.Id, record.Size, record.Sha256, record.StoredAt, record.ExpiresAt, record.Owner);
            var fetched = (attachment, file);
            (file, returned) = (null, true); // the caller's now, with its place among the fetches until it closes it
            return fetched;
        }
        catch (IOException ex)
        {
            AttachmentLog.ReplicaReadFailed(_logger, id.ToString(), ex.Message);
            throw;
        }
        finally
        {
            if (file is not null)
            {
                // Not returned (an error, the download aborted): its temporary file goes now, not at the next start.
                await file.DisposeAsync();
            }
            else if (!returned)
            {
                _fetches.Release();
            }
        }
    }

    /// <summary>A temporary copy read from the replicas: deleted when closed, and its place among the fetches given back then, once.</summary>
    private sealed class FetchedFile(string path, SemaphoreSlim fetches) : FileStream(path, new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.ReadWrite,
        Share = FileShare.None,
        Options = FileOptions.Asynchronous | FileOptions.DeleteOnClose,
    })
    {
        private int _released;

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                fetches.Release();
            }
        }
    }
}
