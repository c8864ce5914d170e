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

/// <summary>The binary protocol endpoint (section "Relay").</summary>
public sealed partial class RelayEndpointOptions
{
    /// <summary>Where the relay listens. Default 127.0.0.1:7400: loopback until an operator decides otherwise.</summary>
    public string Endpoint { get; set; } = "127.0.0.1:7400";

    /// <summary>
    /// The "host:port" written into the address cards this relay issues, i.e. where senders reach it.
    /// Default: the listening endpoint, which is only right when senders share its network.
    /// </summary>
    public string? PublicEndpoint { get; set; }

    /// <summary>
    /// The service key file (32 raw bytes, owner-only), created there if missing. Default: <c>service.key</c> in the
    /// data folder. Every node of a service that runs on several nodes names the same key (a secret the operator
    /// distributes): any node must open any ephemeral address.
    /// </summary>
    public string? ServiceKeyFile { get; set; }

    /// <summary>Largest ciphertext accepted by SEND. Default 16384 (16 KiB), the agreed protocol size of DESIGN.md.</summary>
    public int MaxCiphertextBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Requests one connection may have unanswered before the relay stops reading from it. Default 1024:
    /// enough to cover a group commit at full speed, small enough that 10,000 connections hold at most ~160 MiB of replies.
    /// </summary>
    public int MaxInFlightPerConnection { get; set; } = 1024;

    /// <summary>Largest MESSAGES reply body. Default 1 MiB: about 64 full-size ciphertexts per PULL round trip.</summary>
    public int MaxReplyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages one PULL returns. Default 256.</summary>
    public int MaxPullCount { get; set; } = 256;

    /// <summary>A connection that sends no frame for this long is closed (clients PING to stay). Default 120 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>A connection must complete HELLO within this time. Default 10 s: half-open probes do not hold sockets.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Lifetime of an address created without one. Default 30 days.</summary>
    public TimeSpan DefaultAddressLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Longest lifetime an RM may ask for. Default 365 days: addresses must rotate so that services can be sunset.</summary>
    public TimeSpan MaxAddressLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>
    /// Entries of the ephemeral-address resolution cache (power of two). Default 262144 (~30 MB, 113 B a
    /// slot): the kept ephemeral addresses of 100,000 busy senders fit with room to spare, where 65536 made
    /// every SEND of such a load a miss (an HPKE open, and RATE_LIMITED past the budget).
    /// </summary>
    public int ResolutionCacheCapacity { get; set; } = 262144;

    /// <summary>HPKE opens (cache misses) one anonymous connection may cause per second. Default 200: a flood of random addresses costs at most ~1% of a core per connection.</summary>
    public int ResolveMissesPerSecond { get; set; } = 200;

    /// <summary>Burst of cache misses allowed above the rate, per anonymous connection. Default 100.</summary>
    public int ResolveMissBurst { get; set; } = 100;

    /// <summary>
    /// Cache misses per second of one connection authenticated with a peer token. Default 20000 (about 80%
    /// of a core): a sending service forwards fresh addresses for many users over a few connections.
    /// </summary>
    public int PeerResolveMissesPerSecond { get; set; } = 20_000;

    /// <summary>Burst of a peer connection's misses. Default 5000: a backlog queued while the link was down drains at once.</summary>
    public int PeerResolveMissBurst { get; set; } = 5_000;

    /// <summary>
    /// Cache misses per second of all anonymous connections together. Default 5000 (about 20% of a core):
    /// the CPU a flood of random addresses can take, however many connections it opens.
    /// </summary>
    public int AnonymousResolveMissesPerSecond { get; set; } = 5_000;

    /// <summary>Burst of all anonymous connections' misses together. Default 1000.</summary>
    public int AnonymousResolveMissBurst { get; set; } = 1_000;

    /// <summary>Threads that open addresses (HPKE). Default 0: one per core.</summary>
    public int ResolveWorkers { get; set; }

    /// <summary>
    /// Anonymous misses admitted and not yet resolved, server-wide; past it a miss is refused with RATE_LIMITED
    /// at once. Default 4096: at most ~160 ms of one core's opens wait.
    /// </summary>
    public int ResolveQueueCapacity { get; set; } = 4096;

    /// <summary>
    /// Most messages a push subscriber may have granted and not yet received. Default 1024: with 16 KiB
    /// ciphertexts, at most 16 MiB buffered for a subscriber that stops reading its socket.
    /// </summary>
    public int MaxPushCredit { get; set; } = 1024;

    /// <summary>Longest window an owner may set for the batched delivery policy. Default 1 hour.</summary>
    public TimeSpan MaxBatchWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a graceful shutdown waits for connections to finish their in-flight commits. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    private static bool IsWildcard(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = (colon > 0 ? endpoint[..colon] : endpoint).Trim('[', ']');
        return host is "0.0.0.0" or "::" or "*" or "+";
    }

    internal void Validate(List<string> problems)
    {
        EdgeRelayOptions.CheckEndpoint("Relay:Endpoint", Endpoint, problems);
        if (PublicEndpoint is { Length: 0 or > 255 })
        {
            problems.Add("Relay:PublicEndpoint: must be 1 to 255 characters (host:port) when set.");
        }
        else if (PublicEndpoint is null && IsWildcard(Endpoint))
        {
            // Every card would name this address, which no one elsewhere can reach, for the card's whole life.
            problems.Add($"Relay:PublicEndpoint: required when Relay:Endpoint ({Endpoint}) listens on every interface: set it to the host:port senders reach this relay at, which the address cards name.");
        }

        ValidateAlternativeEndpoints(problems);
        Range(problems, "Relay:MaxCiphertextBytes", MaxCiphertextBytes, 1, 1024 * 1024);
        Range(problems, "Relay:MaxInFlightPerConnection", MaxInFlightPerConnection, 1, 65536);
        Range(problems, "Relay:MaxReplyBytes", MaxReplyBytes, 64 * 1024, 64 * 1024 * 1024);
        if (MaxReplyBytes < MaxCiphertextBytes + 64)
        {
            problems.Add("Relay:MaxReplyBytes: must hold at least one full-size ciphertext (MaxCiphertextBytes + 64).");
        }

        Range(problems, "Relay:MaxPullCount", MaxPullCount, 1, Protocol.ProtocolLimits.MaxPullCount);
        Positive(problems, "Relay:IdleTimeout", IdleTimeout);
        Positive(problems, "Relay:HandshakeTimeout", HandshakeTimeout);
        Positive(problems, "Relay:DefaultAddressLifetime", DefaultAddressLifetime);
        Positive(problems, "Relay:MaxAddressLifetime", MaxAddressLifetime);
        Positive(problems, "Relay:ShutdownTimeout", ShutdownTimeout);
        if (MaxAddressLifetime.TotalSeconds > uint.MaxValue)
        {
            problems.Add("Relay:MaxAddressLifetime: must fit in 32-bit seconds (about 136 years).");
        }

        if (DefaultAddressLifetime > MaxAddressLifetime)
        {
            problems.Add("Relay:DefaultAddressLifetime: must not exceed Relay:MaxAddressLifetime.");
        }

        if (ResolutionCacheCapacity < 64 || (ResolutionCacheCapacity & (ResolutionCacheCapacity - 1)) != 0)
        {
            problems.Add($"Relay:ResolutionCacheCapacity: {ResolutionCacheCapacity} must be a power of two, at least 64.");
        }

        Range(problems, "Relay:MaxPushCredit", MaxPushCredit, 1, 65536);
        Positive(problems, "Relay:MaxBatchWindow", MaxBatchWindow);
        if (MaxBatchWindow.TotalMilliseconds > uint.MaxValue)
        {
            problems.Add("Relay:MaxBatchWindow: must fit in 32-bit milliseconds (about 49 days).");
        }

        Range(problems, "Relay:ResolveMissesPerSecond", ResolveMissesPerSecond, 1, 1_000_000);
        Range(problems, "Relay:ResolveMissBurst", ResolveMissBurst, 1, 1_000_000);
        Range(problems, "Relay:PeerResolveMissesPerSecond", PeerResolveMissesPerSecond, 1, 10_000_000);
        Range(problems, "Relay:PeerResolveMissBurst", PeerResolveMissBurst, 1, 10_000_000);
        Range(problems, "Relay:AnonymousResolveMissesPerSecond", AnonymousResolveMissesPerSecond, 1, 10_000_000);
        Range(problems, "Relay:AnonymousResolveMissBurst", AnonymousResolveMissBurst, 1, 10_000_000);
        Range(problems, "Relay:ResolveWorkers", ResolveWorkers, 0, Addressing.ResolverOptions.MaxWorkers);
        Range(problems, "Relay:ResolveQueueCapacity", ResolveQueueCapacity, 1, 1_000_000);
    }

    internal static void Range(List<string> problems, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{name}: {value} is out of range [{min}, {max}].");
        }
    }

    internal static void Positive(List<string> problems, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{name}: {value} must be positive.");
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
