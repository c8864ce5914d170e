using System.Globalization;
using System.Net;

namespace EdgeRelay.Server;

/// <summary>Every option of a relay, bound from configuration sections of the same names (config/edgerelay.json mirrors it).</summary>
public sealed class EdgeRelayOptions
{
    public RelayEndpointOptions Relay { get; set; } = new();

    public HttpEndpointOptions Http { get; set; } = new();

    public StorageSection Storage { get; set; } = new();

    public LogSection Log { get; set; } = new();

    public NotifyOptions Notify { get; set; } = new();

    public TlsOptions Tls { get; set; } = new();

    public AccessOptions Access { get; set; } = new();
    public AttachmentOptions Attachments { get; set; } = new();

    public RolesOptions Roles { get; set; } = new();

    public SendingOptions Sending { get; set; } = new();

    public ForwardingSection Forwarding { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();
    public AdminOptions Admin { get; set; } = new();

    /// <summary>
    /// True for an options type that is a section of its own (Storage:JetStream inside Storage): the configuration
    /// reader binds it key by key and a reload compares it key by key, as it does its parent.
    /// </summary>
    public static bool IsSection(Type type) => type.IsClass && type.Namespace == typeof(EdgeRelayOptions).Namespace;

    /// <summary>Returns every problem at once, each naming its option, so an operator fixes the file in one go.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        Relay.Validate(problems);
        Http.Validate(problems);
        Storage.Validate(problems);
        Log.Validate(problems);
        Notify.Validate(problems);
        Tls.Validate(problems);
        Access.Validate(problems);
        Roles.Validate(problems);
        Sending.Validate(Relay, Forwarding, problems);
        Attachments.Validate(problems);
        Forwarding.Validate(problems);
        Limits.Validate(problems);
        Admin.Validate(problems);
        if (problems.Count == 0 && Relay.Endpoint == Http.Endpoint && !Relay.Endpoint.EndsWith(":0", StringComparison.Ordinal))
        {
            problems.Add($"Relay:Endpoint and Http:Endpoint are both '{Relay.Endpoint}': they must differ.");
        }

        return problems;
    }

    /// <summary>Parses "IP:port", "[IPv6]:port" or "localhost:port", the forms every endpoint option takes.</summary>
    public static bool TryParseEndpoint(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(value.AsSpan("localhost:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port <= IPEndPoint.MaxPort)
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }

        if (IPEndPoint.TryParse(value, out var parsed) && value.Contains(':', StringComparison.Ordinal))
        {
            endPoint = parsed;
            return true;
        }

        return false;
    }

    internal static void CheckEndpoint(string name, string value, List<string> problems)
    {
        if (!TryParseEndpoint(value, out _))
        {
            problems.Add($"{name}: '{value}' is not an endpoint; use IP:port such as 127.0.0.1:7400 or [::1]:7400 (port 0 picks a free port).");
        }
    }
}

/// <summary>The plain HTTP endpoint for health and readiness (section "Http").</summary>
public sealed class HttpEndpointOptions
{
    /// <summary>Where /healthz and /readyz are served. Default 127.0.0.1:7401.</summary>
    public string Endpoint { get; set; } = "127.0.0.1:7401";

    internal void Validate(List<string> problems) => EdgeRelayOptions.CheckEndpoint("Http:Endpoint", Endpoint, problems);
}

/// <summary>The storage backend and data folder (section "Storage").</summary>
public sealed class StorageSection
{
    /// <summary>
    /// "faster" (default): the FASTER log in the data folder, one machine. "jetstream": replicated streams on a NATS
    /// JetStream cluster (section Storage:JetStream), for several relay nodes serving as one.
    /// </summary>
    public string Backend { get; set; } = "faster";

    /// <summary>The NATS JetStream backend's connection and streams (used when <see cref="Backend"/> is "jetstream").</summary>
    public JetStreamSection JetStream { get; set; } = new();

    internal bool UsesJetStream => string.Equals(Backend, "jetstream", StringComparison.OrdinalIgnoreCase);

    /// <summary>Folder for the log, snapshots and the service key. Default "data", relative to the working directory.</summary>
    public string DataDir { get; set; } = "data";

    /// <summary>Log page size, as a power of two. Default 22 (4 MiB); a page must hold one full record.</summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>Log memory (the in-memory tail), as a power of two. Default 26 (64 MiB): a few hundred ms of ingest at disk speed.</summary>
    public int MemorySizeBits { get; set; } = 26;

    /// <summary>Log segment file size, as a power of two. Default 28 (256 MiB): the unit of truncation.</summary>
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>
    /// Memory mirror of the newest message records, as a power of two. Default 26 (64 MiB): messages delivered
    /// soon after they arrive (push, a PULL that keeps up) are copied from memory instead of read from disk. 0: off.
    /// </summary>
    public int ReadCacheSizeBits { get; set; } = 26;

    /// <summary>How often the address snapshot is written, expired messages dropped, sparse old messages compacted and the log head truncated. Default 10 s.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an un-acked message is kept before the retention sweep drops it. Default 21 days.</summary>
    public TimeSpan MessageTtl { get; set; } = TimeSpan.FromDays(21);

    /// <summary>Most un-acked messages one address may hold; further SENDs get QUOTA_ADDRESS. Default 100,000.</summary>
    public int MaxPendingMessagesPerAddress { get; set; } = 100_000;

    /// <summary>Most un-acked ciphertext bytes one address may hold (QUOTA_ADDRESS beyond). Default 256 MiB.</summary>
    public long MaxPendingBytesPerAddress { get; set; } = 256L << 20;

    /// <summary>
    /// The disk budget of the log (its span on disk, consumed records awaiting truncation included); SENDs
    /// beyond get QUOTA_SERVER, acks are always accepted. Default 16 GiB. 0: no budget.
    /// </summary>
    public long MaxDiskBytes { get; set; } = 16L << 30;

    /// <summary>Copy live messages out of the old part of the log when they are at most this percent of it. Default 25; 0 disables compaction.</summary>
    public int CompactionMaxLivePercent { get; set; } = 25;

    /// <summary>
    /// When the log holds evidence that durable records lie past the point recovery reached (a later commit
    /// record, a damaged entry), the relay refuses to start and names the offsets. Set this to true for one
    /// start, after keeping a copy of the data folder, to drop everything past that point instead (it is
    /// logged). Default false.
    /// </summary>
    public bool TruncateDamagedLog { get; set; }

    internal void Validate(List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            problems.Add("Storage:DataDir: must name a folder.");
        }

        RelayEndpointOptions.Range(problems, "Storage:PageSizeBits", PageSizeBits, 16, 30);
        RelayEndpointOptions.Range(problems, "Storage:MemorySizeBits", MemorySizeBits, 16, 34);
        RelayEndpointOptions.Range(problems, "Storage:SegmentSizeBits", SegmentSizeBits, 16, 40);
        if (MemorySizeBits < PageSizeBits + 1)
        {
            problems.Add("Storage:MemorySizeBits: must be at least PageSizeBits + 1 (two pages in memory).");
        }

        if (SegmentSizeBits < PageSizeBits)
        {
            problems.Add("Storage:SegmentSizeBits: must be at least PageSizeBits.");
        }

        if (ReadCacheSizeBits != 0 && (ReadCacheSizeBits <= PageSizeBits || ReadCacheSizeBits > 30))
        {
            problems.Add($"Storage:ReadCacheSizeBits: {ReadCacheSizeBits} must be 0 (off) or between PageSizeBits + 1 and 30.");
        }

        RelayEndpointOptions.Positive(problems, "Storage:MaintenanceInterval", MaintenanceInterval);
        if (MessageTtl < TimeSpan.FromSeconds(1) || MessageTtl > TimeSpan.FromDays(3650))
        {
            problems.Add($"Storage:MessageTtl: {MessageTtl} must be between 1 second and 3650 days.");
        }

        RelayEndpointOptions.Range(problems, "Storage:MaxPendingMessagesPerAddress", MaxPendingMessagesPerAddress, 1, 100_000_000);
        RelayEndpointOptions.Range(problems, "Storage:MaxPendingBytesPerAddress", MaxPendingBytesPerAddress, 1, 1L << 50);
        if (MaxDiskBytes != 0 && MaxDiskBytes < 4L << Math.Clamp(SegmentSizeBits, 16, 40))
        {
            problems.Add($"Storage:MaxDiskBytes: {MaxDiskBytes} must be 0 (no budget) or at least four log segments ({4L << Math.Clamp(SegmentSizeBits, 16, 40)} bytes).");
        }

        RelayEndpointOptions.Range(problems, "Storage:CompactionMaxLivePercent", CompactionMaxLivePercent, 0, 90);
        if (!UsesJetStream && !string.Equals(Backend, "faster", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Storage:Backend: \"{Backend}\" must be \"faster\" or \"jetstream\".");
        }
        else if (UsesJetStream)
        {
            JetStream.Validate(problems);
        }
    }
}

/// <summary>Console logging (section "Log").</summary>
public sealed class LogSection
{
    /// <summary>"text" (one line per event, for people) or "json" (one JSON object per line, for log shippers). Default "text".</summary>
    public string Format { get; set; } = "text";

    /// <summary>The least severe level written. Default Information: start, stop, time-outs, faults; no per-request lines.</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;

    public bool IsJson => string.Equals(Format, "json", StringComparison.OrdinalIgnoreCase);

    internal void Validate(List<string> problems)
    {
        if (!IsJson && !string.Equals(Format, "text", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Log:Format: '{Format}' must be text or json.");
        }
    }
}
