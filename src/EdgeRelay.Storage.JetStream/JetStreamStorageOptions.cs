using System.Globalization;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// Where the JetStream backend keeps its streams and how it talks to the NATS cluster. Every relay node of one
/// service opens the same streams (same <see cref="StreamPrefix"/>, <see cref="Partitions"/> and limits) on the
/// same cluster.
/// </summary>
public sealed class JetStreamStorageOptions : StorageLimits
{
    /// <summary>
    /// NATS server URLs, comma-separated (<c>nats://host:4222,nats://host2:4222</c>): the client connects to
    /// one and fails over to the others. Required.
    /// </summary>
    public string Url { get; set; } = "";

    /// <summary>Prefix of the stream names and subjects (letters, digits, '-' and '_'). Default <c>EDGERELAY</c>.</summary>
    public string StreamPrefix { get; set; } = "EDGERELAY";

    /// <summary>
    /// Copies JetStream keeps of every record (its R). Default 3: a write is acknowledged once a majority of the
    /// three servers holding its stream stored it, so any one of them can be lost. Allowed: 1, 3 or 5.
    /// </summary>
    public int Replicas { get; set; } = 3;

    /// <summary>
    /// Message streams; an address' messages all go to one, chosen by its id. One stream is one RAFT group
    /// whose leader orders every write, so more streams spread the writes over more servers. Fixed once the
    /// streams exist (message ids encode it). Default 1. Allowed: 1 .. 64.
    /// </summary>
    public int Partitions { get; set; } = 1;

    /// <summary>
    /// How long a write may keep failing (no responders while a stream elects a leader, timeouts) before the store
    /// gives up and fails for good (<see cref="IDurability.Failure"/>). Default 30 s: several leader elections.
    /// </summary>
    public TimeSpan PublishRetryWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most bytes of unflushed writes; beyond it an append answers <see cref="AppendStatus.Backpressure"/>. Default 32 MiB.</summary>
    public long MaxUnflushedBytes { get; set; } = 32L << 20;

    /// <summary>
    /// Ciphertexts each node keeps in memory as they arrive, so that pushing a new message needs no read from the
    /// cluster. Default 64 MiB; 0 reads every message from its stream.
    /// </summary>
    public long ReadCacheBytes { get; set; } = 64L << 20;

    /// <summary>Most unacknowledged ciphertext bytes the whole service holds (<see cref="AppendStatus.QuotaServer"/> beyond). Default 0: no limit but the streams' own.</summary>
    public long MaxPendingBytes { get; set; }

    /// <summary>How often each node drops messages older than the TTL (and writes that down for the others). Default 10 s. Allowed: 1 ms .. 1 day.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often each node writes its heartbeat (the record that says it is live, and so keeps its push leases).
    /// Default 1 s. Allowed: 100 ms .. 1 min.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a silent node is live. A node stops pushing when the newest of its own heartbeats it applied is this
    /// old (by its own clock). The others judge it dead once, since they applied its newest heartbeat, they applied
    /// <see cref="DeadAfterBeats"/> of their own and this plus one <see cref="HeartbeatInterval"/> passed on their own
    /// monotonic clocks; neither compares clocks of two nodes, so skew or an outage of the stream does not kill a live
    /// node. They then take over its owners' push and wake them. Bounds the hand-over after a crash when the owner
    /// does not reconnect first; a node that stops cleanly hands over at once. Default 5 s. Allowed: at least twice
    /// <see cref="HeartbeatInterval"/> (a late beat is not a death), at most 10 min.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long JetStream remembers a write's message id: longer than a publish is retried (<see cref="PublishRetryWindow"/>,
    /// and a minute more), so a retry of a write that was stored after all is recognised and not stored twice.
    /// </summary>
    internal TimeSpan DuplicateWindow => PublishRetryWindow + TimeSpan.FromMinutes(1) > TimeSpan.FromMinutes(2) ? PublishRetryWindow + TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(2);

    /// <summary>
    /// Own heartbeats, in stream order, after which a silent node is dead (with <see cref="NodeTimeout"/> plus one
    /// interval of local time): one more than fit in the timeout, so the silent node has stopped pushing by its own
    /// clock, an interval earlier, before another node takes its leases.
    /// </summary>
    internal int DeadAfterBeats => (int)Math.Ceiling(NodeTimeout / HeartbeatInterval) + 1;

    /// <summary>A NATS credentials file (JWT and NKey seed), or null.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>PEM file of the CA that signed the NATS servers' certificates; set to require TLS.</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>PEM client certificate (with <see cref="TlsKeyFile"/>) when the servers verify clients.</summary>
    public string? TlsCertFile { get; set; }

    /// <summary>PEM private key of <see cref="TlsCertFile"/>.</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>Name of this connection as the NATS servers show it (monitoring). Default <c>edgerelay</c>.</summary>
    public string ClientName { get; set; } = "edgerelay";

    /// <summary>The address records' stream.</summary>
    internal string AddressStream => StreamPrefix + "-ADDR";

    internal string AddressSubjectPrefix => SubjectRoot + ".addr.";

    internal string SubjectRoot => StreamPrefix.ToLowerInvariant();

    /// <summary>Node heartbeats, push leases and wake-up marks: one record per node or address.</summary>
    internal string PresenceStream => StreamPrefix + "-PRESENCE";

    internal string NodeSubject(long writer) => SubjectRoot + ".node." + writer.ToString("x16", CultureInfo.InvariantCulture);

    internal string LeaseSubject(AddressId aid) => SubjectRoot + ".lease." + aid.ToString();

    internal string WakeSubject(AddressId aid) => SubjectRoot + ".wake." + aid.ToString();

    /// <summary>Who forwards the outbound messages a node queued, once that node is dead: one claim per such node.</summary>
    internal string DispatchSubject(long node) => SubjectRoot + ".dispatch." + node.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>The sending service's outbound queue: queued and settle records (<see cref="JetStreamOutboundQueue"/>).</summary>
    internal string OutboundStream => StreamPrefix + "-OUTBOUND";

    internal string OutboundSubject => SubjectRoot + ".outbound";

    /// <summary>The committed attachments' object store bucket (its stream is JetStream's <c>OBJ_</c> and this).</summary>
    internal string AttachmentBucket => StreamPrefix + "-ATTACH";

    internal string MessageStream(int partition) => StreamPrefix + "-MSG-" + partition.ToString(CultureInfo.InvariantCulture);

    internal string MessageSubject(int partition) => SubjectRoot + ".msg." + partition.ToString(CultureInfo.InvariantCulture);

    /// <summary>The ciphertext of a record can take what is left of a NATS message once the record's own fields are in (1 MiB default max_payload).</summary>
    protected override int LargestPayloadBytes => (1 << 20) - 64;

    protected override string LargestPayloadReason => "a NATS message is at most 1 MiB by default";

    /// <summary>Throws <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the first bad setting.</summary>
    public void Validate()
    {
        ValidateLimits();
        if (string.IsNullOrWhiteSpace(Url))
        {
            throw new ArgumentException("JetStreamStorageOptions.Url is required: the NATS servers to connect to (nats://host:4222, comma-separated).", nameof(Url));
        }

        if (StreamPrefix.Length is 0 or > 32 || !StreamPrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException("JetStreamStorageOptions.StreamPrefix must be 1-32 letters, digits, '-' or '_'.", nameof(StreamPrefix));
        }

        if (Replicas is not (1 or 3 or 5))
        {
            throw new ArgumentOutOfRangeException(nameof(Replicas), Replicas, "JetStreamStorageOptions.Replicas must be 1, 3 or 5 (a majority of an odd number survives a loss).");
        }

        if (Partitions is < 1 or > MaxPartitions)
        {
            throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, $"JetStreamStorageOptions.Partitions must be between 1 and {MaxPartitions}.");
        }

        if (PublishRetryWindow < TimeSpan.FromSeconds(1) || PublishRetryWindow > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(PublishRetryWindow), PublishRetryWindow, "JetStreamStorageOptions.PublishRetryWindow must be between 1 s and 10 min.");
        }

        if (MaintenanceInterval < TimeSpan.FromMilliseconds(1) || MaintenanceInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MaintenanceInterval), MaintenanceInterval, "JetStreamStorageOptions.MaintenanceInterval must be between 1 ms and 1 day.");
        }

        if (HeartbeatInterval < TimeSpan.FromMilliseconds(100) || HeartbeatInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(HeartbeatInterval), HeartbeatInterval, "JetStreamStorageOptions.HeartbeatInterval must be between 100 ms and 1 min.");
        }

        if (NodeTimeout < 2 * HeartbeatInterval || NodeTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(NodeTimeout), NodeTimeout, "JetStreamStorageOptions.NodeTimeout must be at least twice HeartbeatInterval and at most 10 min.");
        }

        if (MaxUnflushedBytes < 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxUnflushedBytes), MaxUnflushedBytes, "JetStreamStorageOptions.MaxUnflushedBytes must be at least 1 MiB.");
        }

        if (ReadCacheBytes < 0 || MaxPendingBytes < 0)
        {
            throw new ArgumentOutOfRangeException(ReadCacheBytes < 0 ? nameof(ReadCacheBytes) : nameof(MaxPendingBytes), "JetStreamStorageOptions sizes cannot be negative.");
        }

        if ((TlsCertFile is null) != (TlsKeyFile is null))
        {
            throw new ArgumentException("JetStreamStorageOptions.TlsCertFile and TlsKeyFile go together.", nameof(TlsCertFile));
        }
    }

    /// <summary>Message ids are <c>sequence × Partitions + partition</c>; 64 keeps a sequence below 2^57.</summary>
    internal const int MaxPartitions = 64;
}
