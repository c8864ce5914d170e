namespace EdgeRelay.Server;

/// <summary>Attachment uploads and their HTTP downloads (section "Attachments"; docs/PROTOCOL.md 4.15).</summary>
public sealed class AttachmentOptions
{
    /// <summary>
    /// Largest attachment an upload may declare (UPLOAD_BEGIN beyond it: ATTACHMENT_TOO_LARGE). Default
    /// 100 MiB: a phone video or a document bundle, uploaded in a few seconds on a good link.
    /// </summary>
    public long MaxBytes { get; set; } = 100L << 20;

    /// <summary>
    /// Disk budget for attachments: stored blobs plus the declared sizes of uploads in progress (reserved at
    /// UPLOAD_BEGIN, so a refusal comes before any byte is sent: QUOTA_ATTACHMENTS). Default 10 GiB, i.e.
    /// a hundred full-size attachments within their expiry. 0: no budget (the disk is the limit).
    /// </summary>
    public long MaxDiskBytes { get; set; } = 10L << 30;

    /// <summary>
    /// Uploads in progress the relay holds at once, for all tokens (UPLOAD_BEGIN beyond it: QUOTA_ATTACHMENTS).
    /// Each is two files however small its declared size, so their number is bounded apart from the disk
    /// budget. Default 10,000. 0: no limit.
    /// </summary>
    public int MaxOpenUploads { get; set; } = 10_000;

    /// <summary>
    /// Uploads in progress one RM token holds at once (UPLOAD_BEGIN beyond it: QUOTA_TOKEN): an app sending a
    /// message with many attachments uploads them side by side, but a token opening uploads it never finishes
    /// waits for them to end or time out. Default 64. 0: no limit.
    /// </summary>
    public int MaxOpenUploadsPerToken { get; set; } = 64;

    /// <summary>How long a committed attachment is served at its URL. Default 48 h: long enough for a recipient offline over a weekend day.</summary>
    public TimeSpan Expiry { get; set; } = TimeSpan.FromHours(48);

    /// <summary>
    /// An upload that receives no chunk for this long is dropped with its partial file and its reservation.
    /// Default 24 h: a phone that lost its network overnight can still resume.
    /// </summary>
    public TimeSpan UploadTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often expired attachments and stale uploads are removed from disk. Default 1 min (lookups ignore them at once anyway).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The absolute http(s) URL under which the HTTP endpoint is reachable from recipients, e.g.
    /// https://relay.example.org behind a TLS-terminating proxy; ATTACHMENT_STORED carries this plus
    /// <c>/a/{id}</c>. Default: http:// and the HTTP endpoint as bound, only right on the relay's own network.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    internal Attachments.AttachmentStoreOptions ToStoreOptions() => new()
    {
        MaxBytes = MaxBytes,
        MaxDiskBytes = MaxDiskBytes,
        MaxOpenUploads = MaxOpenUploads,
        MaxOpenUploadsPerOwner = MaxOpenUploadsPerToken,
        Expiry = Expiry,
        UploadTimeout = UploadTimeout,
        SweepInterval = SweepInterval,
    };

    internal void Validate(List<string> problems)
    {
        RelayEndpointOptions.Range(problems, "Attachments:MaxBytes", MaxBytes, 1, 1L << 40);
        if (MaxDiskBytes != 0 && MaxDiskBytes < MaxBytes)
        {
            problems.Add($"Attachments:MaxDiskBytes: {MaxDiskBytes} must be 0 (no budget) or at least Attachments:MaxBytes ({MaxBytes}).");
        }

        RelayEndpointOptions.Range(problems, "Attachments:MaxDiskBytes", MaxDiskBytes, 0, long.MaxValue / 2);
        RelayEndpointOptions.Range(problems, "Attachments:MaxOpenUploads", MaxOpenUploads, 0, 10_000_000);
        RelayEndpointOptions.Range(problems, "Attachments:MaxOpenUploadsPerToken", MaxOpenUploadsPerToken, 0, 10_000_000);
        Within(problems, "Attachments:Expiry", Expiry, TimeSpan.FromMinutes(1), TimeSpan.FromDays(365));
        Within(problems, "Attachments:UploadTimeout", UploadTimeout, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30));

        // The sweep runs on a timer, whose period .NET caps at about 49 days.
        Within(problems, "Attachments:SweepInterval", SweepInterval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (PublicBaseUrl is not null)
        {
            if (!Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                problems.Add($"Attachments:PublicBaseUrl: '{PublicBaseUrl}' must be an absolute http or https URL without user info, query or fragment.");
            }
            else if (PublicBaseUrl.Length > 1024)
            {
                problems.Add("Attachments:PublicBaseUrl: must be at most 1024 characters.");
            }
        }
    }

    /// <summary>The URL prefix of attachments: the base without a trailing slash, then <c>/a/</c>.</summary>
    internal static string UrlPrefix(string baseUrl) => baseUrl.TrimEnd('/') + "/a/";

    private static void Within(List<string> problems, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{name}: {value} must be between {min} and {max}.");
        }
    }
}
