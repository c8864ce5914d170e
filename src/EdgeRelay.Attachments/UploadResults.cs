namespace EdgeRelay.Attachments;

public enum UploadStatus
{
    /// <summary>Done; the other fields of the result are set.</summary>
    Ok,

    /// <summary>The declared size is over <see cref="AttachmentStoreOptions.MaxBytes"/>.</summary>
    TooLarge,

    /// <summary>The store's disk budget cannot take the declared size.</summary>
    OverBudget,

    /// <summary>The owner's own attachment quota cannot take the declared size.</summary>
    OverOwnerQuota,

    /// <summary>The store holds <see cref="AttachmentStoreOptions.MaxOpenUploads"/> uploads in progress already.</summary>
    TooManyUploads,

    /// <summary>The owner holds <see cref="AttachmentStoreOptions.MaxOpenUploadsPerOwner"/> uploads in progress already.</summary>
    TooManyOwnerUploads,

    /// <summary>No such upload in progress: never begun, expired, abandoned after a bad digest, or already committed.</summary>
    Unknown,

    /// <summary>A chunk not at the bytes received so far, or reaching past the declared size.</summary>
    WrongOffset,

    /// <summary>Commit before every declared byte arrived (the upload stays).</summary>
    Incomplete,

    /// <summary>Commit of bytes whose SHA-256 is not the declared one (the upload is dropped).</summary>
    DigestMismatch,

    /// <summary>Commit on a relay cluster whose engine did not store the attachment's replica (the upload stays: commit again).</summary>
    NotReplicated,
}

/// <summary>The state of an upload as a reply reports it.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Id">The upload's handle.</param>
/// <param name="Received">Bytes received so far, in order from offset 0 (after a resume: bytes known durable).</param>
/// <param name="Size">The declared size.</param>
/// <param name="ExpiresAt">When the upload is dropped if it makes no progress meanwhile.</param>
public readonly record struct UploadState(UploadStatus Status, UploadId Id, long Received, long Size, DateTimeOffset ExpiresAt)
{
    public static UploadState Refused(UploadStatus status, long received = 0, long size = 0) => new(status, default, received, size, default);
}

/// <summary>The outcome of a commit: <see cref="Attachment"/> when <see cref="Status"/> is <see cref="UploadStatus.Ok"/>.</summary>
public readonly record struct CommitResult(UploadStatus Status, StoredAttachment? Attachment, long Received, long Size);

/// <summary>Counters and levels of a store, read at scrape time.</summary>
public readonly record struct AttachmentStatistics(
    int Attachments,
    long StoredBytes,
    int UploadsInProgress,
    long ReservedBytes,
    long UploadsStarted,
    long UploadsCommitted,
    long UploadsExpired,
    long AttachmentsExpired,
    long BytesReceived);
