using System.Collections.Concurrent;
using EdgeRelay.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Attachments;

/// <summary>
/// Attachment ciphertexts on disk: uploads in progress under <c>tmp/</c>, committed attachments under
/// <c>blobs/</c>, each with a small record beside it. A blob exists under its final name only once it was
/// complete, its digest checked, its bytes and its record fsynced; so a crash at any point leaves either
/// an upload (never served, resumable or swept) or a whole attachment.
/// </summary>
/// <remarks>
/// <para>Layout under the store's folder: <c>tmp/{upload}.part</c> (the bytes), <c>tmp/{upload}.upload</c>
/// (its record), <c>blobs/{id}.blob</c> and <c>blobs/{id}.meta</c>; <c>*.new</c> files are records being
/// written. Opening removes whatever a crash can leave half done (see <see cref="Recover"/>).</para>
/// <para>The disk budget counts committed blobs and the <em>declared</em> size of every upload in progress,
/// reserved when it begins: a refusal then comes before any byte is sent, never halfway. Records (under
/// 100 bytes each) are not counted.</para>
/// <para>Files: this one opens, recovers, looks up, accounts and sweeps; <c>AttachmentStore.Uploads.cs</c>
/// begins, appends to, resumes and commits uploads.</para>
/// </remarks>
public sealed partial class AttachmentStore : IAsyncDisposable
{
    internal const string PartExtension = ".part";
    internal const string UploadExtension = ".upload";
    internal const string BlobExtension = ".blob";
    internal const string MetaExtension = ".meta";

    private readonly ConcurrentDictionary<AttachmentId, StoredAttachment> _attachments = new();
    private readonly ConcurrentDictionary<UploadId, Upload> _uploads = new();
    private readonly Dictionary<string, long> _ownerBytes = new(StringComparer.Ordinal);

    // Uploads in progress, in all and per owner (under _budget): each is two files and an entry, however small
    // its declared size, so their number is bounded apart from the bytes they reserve.
    private readonly Dictionary<string, int> _ownerUploads = new(StringComparer.Ordinal);
    private int _openUploads;
    private readonly Lock _budget = new();
    private readonly AttachmentStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _sweeper;
    private readonly IAttachmentReplicas? _replicas;
    private long _usedBytes;
    private long _storedBytes;
    private long _uploadsStarted;
    private long _uploadsCommitted;
    private long _uploadsExpired;
    private long _attachmentsExpired;
    private long _bytesReceived;

    private AttachmentStore(string directory, AttachmentStoreOptions options, TimeProvider time, ILogger logger, IAttachmentReplicas? replicas)
    {
        _replicas = replicas;
        Directory = directory;
        BlobDirectory = Path.Combine(directory, "blobs");
        UploadDirectory = Path.Combine(directory, "tmp");
        _options = options;
        _time = time;
        _logger = logger;
        System.IO.Directory.CreateDirectory(BlobDirectory);
        System.IO.Directory.CreateDirectory(UploadDirectory);
        Recover();
        _sweeper = time.CreateTimer(static s => ((AttachmentStore)s!).Sweep(), this, options.SweepInterval, options.SweepInterval);
    }

    public string Directory { get; }

    internal string BlobDirectory { get; }

    internal string UploadDirectory { get; }

    /// <summary>Largest attachment an upload may declare.</summary>
    public long MaxBytes => _options.MaxBytes;

    /// <summary>The disk budget in bytes; 0 when there is none.</summary>
    public long BudgetBytes => _options.MaxDiskBytes;

    /// <summary>Bytes counted against the budget: committed blobs plus the declared sizes of uploads in progress.</summary>
    public long UsedBytes => Volatile.Read(ref _usedBytes);

    /// <summary>How long a committed attachment is served.</summary>
    public TimeSpan Expiry => _options.Expiry;

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/>, cleaning what a crash left, and starts its sweep.</summary>
    /// <param name="replicas">
    /// On a relay cluster, where every committed attachment is also put before its uploader is told (and where
    /// <see cref="FetchAsync"/> finds those another node committed); null for one machine.
    /// </param>
    public static AttachmentStore Open(string directory, AttachmentStoreOptions options, TimeProvider time, ILogger? logger = null, IAttachmentReplicas? replicas = null) =>
        new(Path.GetFullPath(directory), options, time, logger ?? NullLogger.Instance, replicas);

    /// <summary>
    /// Told of every change to an owner's bytes (a reservation at begin, a release at expiry or drop), so
    /// that an account kept elsewhere (the relay's tokens) can mirror <see cref="UsedBytesOf"/>. Called under
    /// the store's accounting lock: it must be quick and must not call back into the store.
    /// </summary>
    public Action<string, long>? UsageChanged { get; set; }

    /// <summary>Bytes of <paramref name="owner"/> counted against its quota (blobs and reservations).</summary>
    public long UsedBytesOf(string owner)
    {
        lock (_budget)
        {
            return _ownerBytes.GetValueOrDefault(owner);
        }
    }

    /// <summary>Finds an attachment that is still served (committed and not expired).</summary>
    public bool TryGet(AttachmentId id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredAttachment? attachment) =>
        _attachments.TryGetValue(id, out attachment) && attachment.ExpiresAt > _time.GetUtcNow();

    /// <summary>Opens an attachment's bytes for reading; null when the sweep removed it meanwhile.</summary>
    public FileStream? OpenRead(StoredAttachment attachment)
    {
        try
        {
            // Delete is shared: the sweep may remove an expired blob while a download of it finishes.
            return new FileStream(BlobPath(attachment.Id), new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public AttachmentStatistics GetStatistics()
    {
        long stored = Volatile.Read(ref _storedBytes);
        return new AttachmentStatistics(
            _attachments.Count,
            stored,
            _uploads.Count,
            Volatile.Read(ref _usedBytes) - stored,
            Volatile.Read(ref _uploadsStarted),
            Volatile.Read(ref _uploadsCommitted),
            Volatile.Read(ref _uploadsExpired),
            Volatile.Read(ref _attachmentsExpired),
            Volatile.Read(ref _bytesReceived));
    }

    /// <summary>
    /// Removes expired attachments and uploads past their deadline, files included; returns how many. Runs
    /// every <see cref="AttachmentStoreOptions.SweepInterval"/>; lookups already ignore what expired, so the
    /// sweep only frees the disk. An upload busy with a chunk is left for the next round.
    /// </summary>
    public int Sweep()
    {
        var now = _time.GetUtcNow();
        int removed = 0;
        foreach (var (id, attachment) in _attachments)
        {
            if (attachment.ExpiresAt <= now && _attachments.TryRemove(new KeyValuePair<AttachmentId, StoredAttachment>(id, attachment)))
            {
                DeleteQuietly(BlobPath(id));
                DeleteQuietly(MetaPath(id));
                Release(attachment.Owner, attachment.Size, stored: true);
                Interlocked.Increment(ref _attachmentsExpired);
                AttachmentLog.AttachmentExpired(_logger, id.ToString(), attachment.Size);
                removed++;
            }
        }

        foreach (var upload in _uploads.Values)
        {
            if (upload.Deadline > now || !upload.Gate.Wait(0))
            {
                continue;
            }

            try
            {
                if (!upload.Ended && upload.Deadline <= now)
                {
                    Drop(upload);
                    Interlocked.Increment(ref _uploadsExpired);
                    AttachmentLog.UploadExpired(_logger, upload.Id.ToString(), upload.Received, upload.Size);
                    removed++;
                }
            }
            finally
            {
                upload.Gate.Release();
            }
        }

        return removed;
    }

    public async ValueTask DisposeAsync() => await _sweeper.DisposeAsync();

    internal string BlobPath(AttachmentId id) => Path.Combine(BlobDirectory, id + BlobExtension);

    internal string MetaPath(AttachmentId id) => Path.Combine(BlobDirectory, id + MetaExtension);

    /// <summary>
    /// Counts a new upload of <paramref name="size"/> against the number of uploads in progress (the store's and the
    /// owner's), the budget and the owner's quota, or says which one refuses it.
    /// </summary>
    private UploadStatus Reserve(string owner, long size, long ownerQuota)
    {
        lock (_budget)
        {
            if (_options.MaxOpenUploads > 0 && _openUploads >= _options.MaxOpenUploads)
            {
                return UploadStatus.TooManyUploads;
            }

            var ownerUploads = _ownerUploads.GetValueOrDefault(owner);
            if (_options.MaxOpenUploadsPerOwner > 0 && ownerUploads >= _options.MaxOpenUploadsPerOwner)
            {
                return UploadStatus.TooManyOwnerUploads;
            }

            if (_options.MaxDiskBytes > 0 && _usedBytes + size > _options.MaxDiskBytes)
            {
                return UploadStatus.OverBudget;
            }

            var ownerUsed = _ownerBytes.GetValueOrDefault(owner);
            if (ownerQuota > 0 && ownerUsed + size > ownerQuota)
            {
                return UploadStatus.OverOwnerQuota;
            }

            _ownerBytes[owner] = ownerUsed + size;
            Volatile.Write(ref _usedBytes, _usedBytes + size);
            _ownerUploads[owner] = ownerUploads + 1;
            _openUploads++;
            UsageChanged?.Invoke(owner, size);
            return UploadStatus.Ok;
        }
    }

    /// <summary>An upload of <paramref name="owner"/> ended (committed, dropped or expired): it no longer counts as in progress.</summary>
    private void UploadEnded(string owner)
    {
        lock (_budget)
        {
            _openUploads--;
            var left = _ownerUploads.GetValueOrDefault(owner) - 1;
            if (left > 0)
            {
                _ownerUploads[owner] = left;
            }
            else
            {
                _ownerUploads.Remove(owner);
            }
        }
    }

    private void Release(string owner, long size, bool stored)
    {
        lock (_budget)
        {
            var left = _ownerBytes.GetValueOrDefault(owner) - size;
            if (left > 0)
            {
                _ownerBytes[owner] = left;
            }
            else
            {
                _ownerBytes.Remove(owner);
            }

            Volatile.Write(ref _usedBytes, _usedBytes - size);
            if (stored)
            {
                Volatile.Write(ref _storedBytes, _storedBytes - size);
            }

            UsageChanged?.Invoke(owner, -size);
        }
    }

    /// <summary>Ends an upload without an attachment: its files go, its reservation is released. Under its gate.</summary>
    private void Drop(Upload upload)
    {
        upload.Ended = true;
        _uploads.TryRemove(new KeyValuePair<UploadId, Upload>(upload.Id, upload));
        DeleteQuietly(upload.RecordPath);
        DeleteQuietly(upload.PartPath);
        Release(upload.Owner, upload.Size, stored: false);
        UploadEnded(upload.Owner);
    }

    private void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException ex)
        {
            // Left for the next start's recovery, which removes whatever is not a whole attachment or a live upload.
            AttachmentLog.DeleteFailed(_logger, path, ex.Message);
        }
    }
}
