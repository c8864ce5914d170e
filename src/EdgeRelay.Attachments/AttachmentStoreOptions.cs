namespace EdgeRelay.Attachments;

/// <summary>The store's limits and lifetimes. The relay fills them from its <c>Attachments</c> section, which documents and validates each.</summary>
public sealed class AttachmentStoreOptions
{
    /// <summary>Largest attachment an upload may declare. Default 100 MiB.</summary>
    public long MaxBytes { get; init; } = 100L << 20;

    /// <summary>Disk budget for blobs plus the declared sizes of uploads in progress; 0: none. Default 10 GiB.</summary>
    public long MaxDiskBytes { get; init; } = 10L << 30;

    /// <summary>How long a committed attachment is served. Default 48 hours.</summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromHours(48);

    /// <summary>An upload that makes no progress for this long is dropped with its temporary file. Default 24 hours.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Uploads in progress the store holds at once, for all owners; 0: no limit. Default 10,000.</summary>
    public int MaxOpenUploads { get; init; } = 10_000;

    /// <summary>Uploads in progress one owner holds at once; 0: no limit. Default 64.</summary>
    public int MaxOpenUploadsPerOwner { get; init; } = 64;

    /// <summary>How often expired attachments and stale uploads are removed from disk. Default 1 minute.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);
}
