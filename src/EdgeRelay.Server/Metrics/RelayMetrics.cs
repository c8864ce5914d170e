using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using Prometheus;

namespace EdgeRelay.Server.Metrics;

/// <summary>
/// Every metric of one relay, in a registry of its own (so that several relays in one process, as in
/// the tests, never mix their series), served on the HTTP endpoint at <c>/metrics</c>.
/// </summary>
/// <remarks>
/// <para>Naming follows Prometheus conventions: an <c>edgerelay_</c> prefix, base units in the name
/// (<c>_seconds</c>, <c>_bytes</c>), <c>_total</c> on counters.</para>
/// <para>Hot path: every labelled series a request can touch is resolved once, here, into arrays
/// indexed by frame type or error code, so an update is an array load and an interlocked add, never
/// a label lookup or an allocation. State that already exists elsewhere (connections, pending messages,
/// log addresses, cache counters) is read at scrape time by a before-collect callback instead of being
/// mirrored on every change.</para>
/// </remarks>
public sealed partial class RelayMetrics
{
    /// <summary>Latency buckets from 100 µs to ~6.5 s: a group commit is milliseconds, a stalled disk seconds.</summary>
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.0001, 2, 17);

    private readonly Counter.Child[] _framesIn = new Counter.Child[256];
    private readonly Counter.Child[] _bytesIn = new Counter.Child[256];
    private readonly Counter.Child[] _framesOut = new Counter.Child[256];
    private readonly Counter.Child[] _bytesOut = new Counter.Child[256];
    private readonly Counter.Child[] _refusedByCode = new Counter.Child[ushort.MaxValue + 1];
    private readonly Counter.Child[] _closedByCode = new Counter.Child[ushort.MaxValue + 1];
    private readonly Counter.Child[] _missesResolved = new Counter.Child[2];
    private readonly Counter.Child?[,] _missesRefused = new Counter.Child?[2, 4];
    private readonly Histogram.Child[] _queueWait = new Histogram.Child[2];

    public RelayMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry); // GC, memory, threads, process CPU and start time
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        // No exemplars: by default every update would look up the current trace (Activity.Current) to
        // attach one, which the relay's raw connections never have and the hot path should not pay for.
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = static (_, _) => Exemplar.None };

        Connections = factory.CreateGauge("edgerelay_connections", "Relay protocol connections open now.");
        ConnectionsAccepted = factory.CreateCounter("edgerelay_connections_accepted_total", "Relay protocol connections accepted.");
        var closed = factory.CreateCounter("edgerelay_connections_closed_by_server_total", "Connections the relay closed, by reason: handshake_timeout, idle_timeout, or the error code that closes (e.g. FRAME_TOO_LARGE, SHUTTING_DOWN).", "reason");
        HandshakeTimeouts = closed.WithLabels("handshake_timeout");
        IdleTimeouts = closed.WithLabels("idle_timeout");
        var closedOther = closed.WithLabels("OTHER");
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            if (ErrorCodes.ClosesConnection(code))
            {
                _closedByCode[(ushort)code] = closed.WithLabels(ErrorCodes.Name(code));
            }
        }

        for (var i = 0; i < _closedByCode.Length; i++)
        {
            _closedByCode[i] ??= closedOther;
        }

        var framesIn = factory.CreateCounter("edgerelay_frames_received_total", "Frames received, by command.", "command");
        var bytesIn = factory.CreateCounter("edgerelay_received_bytes_total", "Frame bytes received (header and body), by command.", "command");
        var framesOut = factory.CreateCounter("edgerelay_frames_sent_total", "Frames sent, by type.", "type");
        var bytesOut = factory.CreateCounter("edgerelay_sent_bytes_total", "Frame bytes sent (header and body), by type.", "type");
        for (var i = 0; i < 256; i++)
        {
            var name = FrameTypeName((byte)i);
            _framesIn[i] = framesIn.WithLabels(name);
            _bytesIn[i] = bytesIn.WithLabels(name);
            _framesOut[i] = framesOut.WithLabels(name);
            _bytesOut[i] = bytesOut.WithLabels(name);
        }

        SendsAccepted = factory.CreateCounter("edgerelay_sends_accepted_total", "SENDs stored and acknowledged as durable.");
        var tokenAuth = factory.CreateCounter("edgerelay_token_authentications_total", "AUTH_TOKEN requests that succeeded, by the token's role (refusals are in edgerelay_requests_refused_total).", "role");
        TokenAuthenticationsRm = tokenAuth.WithLabels("rm");
        TokenAuthenticationsPeer = tokenAuth.WithLabels("peer");
        ConfigurationReloads = factory.CreateCounter("edgerelay_configuration_reloads_total", "Reloaded configurations that changed the sending configuration (and were pushed to RMs as CONFIG).");
        var refused = factory.CreateCounter("edgerelay_requests_refused_total", "Requests answered with an ERROR, by error code.", "code");
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            _refusedByCode[(ushort)code] = refused.WithLabels(ErrorCodes.Name(code));
        }

        var unknownCode = refused.WithLabels("OTHER");
        for (var i = 0; i < _refusedByCode.Length; i++)
        {
            _refusedByCode[i] ??= unknownCode;
        }

        AckLatency = factory.CreateHistogram(
            "edgerelay_send_ack_latency_seconds",
            "From a SEND being appended to the log to its OK being written, once durable: the group commit and the wait behind earlier replies.",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        CommitDuration = factory.CreateHistogram(
            "edgerelay_log_commit_duration_seconds",
            "Duration of one group commit of the log (one synchronous write).",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        DeliveryLatency = factory.CreateHistogram(
            "edgerelay_delivery_latency_seconds",
            "From a message's arrival to its DELIVER frame being queued to a subscriber (batched windows included).",
            new HistogramConfiguration { Buckets = LatencyBuckets });
        MessagesDelivered = factory.CreateCounter("edgerelay_messages_delivered_total", "Messages handed to owners, by path: pull or push.", "path");
        PulledMessages = MessagesDelivered.WithLabels("pull");
        PushedMessages = MessagesDelivered.WithLabels("push");
        MessagesAcked = factory.CreateCounter("edgerelay_messages_acked_total", "Messages acknowledged by owners.");

        PendingMessages = factory.CreateGauge("edgerelay_pending_messages", "Messages stored and not yet acknowledged (the queue depth).");
        PendingBytes = factory.CreateGauge("edgerelay_pending_bytes", "Ciphertext bytes stored and not yet acknowledged.");
        Addresses = factory.CreateGauge("edgerelay_addresses", "Long-term addresses known to the relay (revoked and expired included).");
        LogSize = factory.CreateGauge("edgerelay_log_size_bytes", "Span of the log on disk: tail minus head.");
        LogHead = factory.CreateGauge("edgerelay_log_head_address", "Log address of the oldest record kept (moves on truncation).");
        LogTail = factory.CreateGauge("edgerelay_log_tail_address", "Log address where the next record goes.");
        LogCommitted = factory.CreateGauge("edgerelay_log_committed_address", "Every record below this log address is durable.");
        Commits = factory.CreateCounter("edgerelay_log_commits_total", "Group commits of the log.");
        MessagesExpired = factory.CreateCounter("edgerelay_messages_expired_total", "Messages dropped by the retention sweep (TTL).");
        MessagesMoved = factory.CreateCounter("edgerelay_messages_compacted_total", "Live messages copied forward by compaction.");
        var reads = factory.CreateCounter("edgerelay_message_reads_total", "Ciphertexts read for delivery (PULL, push), by source: memory (the mirror of recent records, Storage:ReadCacheSizeBits) or device.", "source");
        MemoryReads = reads.WithLabels("memory");
        DeviceReads = reads.WithLabels("device");

        var cache = factory.CreateCounter("edgerelay_resolution_cache_lookups_total", "Ephemeral-address resolutions, by result: hit, negative_hit (known garbage), miss (one HPKE open).", "result");
        CacheHits = cache.WithLabels("hit");
        CacheNegativeHits = cache.WithLabels("negative_hit");
        CacheMisses = cache.WithLabels("miss");
        CacheEntries = factory.CreateGauge("edgerelay_resolution_cache_entries", "Entries in the ephemeral-address resolution cache.");
        var resolved = factory.CreateCounter("edgerelay_resolve_misses_total", "Cache misses opened (one HPKE open each) by the resolution workers, by connection class: peer (a peer relay's token) or anonymous.", "class");
        var refusedMisses = factory.CreateCounter("edgerelay_resolve_misses_refused_total", "Cache misses refused with RATE_LIMITED before any crypto, by connection class and the budget that refused them: connection (its own rate), server (all anonymous connections' shared rate), queue (too many anonymous misses waiting).", "class", "budget");
        var queueWait = factory.CreateHistogram(
            "edgerelay_resolve_queue_wait_seconds",
            "Time a cache miss waited for a resolution worker, by connection class (peer misses go first).",
            new HistogramConfiguration { Buckets = LatencyBuckets, LabelNames = ["class"] });
        foreach (var missClass in Enum.GetValues<MissClass>())
        {
            var name = missClass == MissClass.Peer ? "peer" : "anonymous";
            _missesResolved[(int)missClass] = resolved.WithLabels(name);
            _queueWait[(int)missClass] = queueWait.WithLabels(name);
            foreach (var refusal in (ReadOnlySpan<MissRefusal>)[MissRefusal.Connection, MissRefusal.Server, MissRefusal.Queue])
            {
                _missesRefused[(int)missClass, (int)refusal] = refusedMisses.WithLabels(name, refusal.ToString().ToLowerInvariant());
            }
        }

        ResolveQueueDepth = factory.CreateGauge("edgerelay_resolve_queue_depth", "Cache misses queued for a resolution worker now.");

        PushSubscribers = factory.CreateGauge("edgerelay_push_subscribers", "Live push subscriptions.");
        Wakeups = factory.CreateCounter("edgerelay_wakeups_total", "Wake-ups handed to the notifier (one per burst for an offline owner).");
        WakeupsSuppressed = factory.CreateCounter("edgerelay_wakeups_suppressed_total", "Messages for an offline owner already woken in the same burst.");
        var notify = factory.CreateCounter("edgerelay_wakeup_posts_total", "Outcomes of the webhook notifier: delivered, failed (gave up), retried, coalesced, dropped (queue full).", "result");
        NotifyDelivered = notify.WithLabels("delivered");
        NotifyFailed = notify.WithLabels("failed");
        NotifyRetries = notify.WithLabels("retried");
        NotifyCoalesced = notify.WithLabels("coalesced");
        NotifyDropped = notify.WithLabels("dropped");

        ForwardQueued = factory.CreateGauge("edgerelay_forward_queued_messages", "Messages in the outbound queue (SEND_VIA) not yet delivered or failed: the forwarding queue depth.");
        ForwardQueuedBytes = factory.CreateGauge("edgerelay_forward_queued_bytes", "Ciphertext bytes in the outbound queue.");
        Forwarded = factory.CreateCounter("edgerelay_forwarded_total", "Messages another relay acknowledged as stored.");
        ForwardRetries = factory.CreateCounter("edgerelay_forward_retries_total", "Forwarding attempts that failed in a way worth retrying (each message once per failed attempt).");
        ForwardFailed = factory.CreateCounter("edgerelay_forward_failed_total", "Forwarded messages given up, by error code: the receiving relay's refusal, or UNDELIVERABLE past the maximum age.", "code");
        CreateBatchedMetrics(factory);
        CreateBuildInfo(factory);

        // DotNetStats has the CPU but not the bytes allocated; a load generator in another process needs
        // both to put a cost per message on the relay alone.
        AllocatedBytes = factory.CreateCounter("edgerelay_process_allocated_bytes_total", "Bytes allocated on the managed heap by the relay process since it started (GC.GetTotalAllocatedBytes).");
        AttachmentDownloads = CreateAttachmentMetrics(factory);
    }

    /// <summary>The registry served at <c>/metrics</c>.</summary>
    public CollectorRegistry Registry { get; }

    internal Gauge Connections { get; }

    internal Counter ConnectionsAccepted { get; }

    internal Counter.Child HandshakeTimeouts { get; }

    internal Counter.Child IdleTimeouts { get; }

    internal Counter SendsAccepted { get; }

    internal Counter.Child TokenAuthenticationsRm { get; }

    internal Counter.Child TokenAuthenticationsPeer { get; }

    internal Counter ConfigurationReloads { get; }

    internal Histogram AckLatency { get; }

    internal Histogram CommitDuration { get; }

    internal Histogram DeliveryLatency { get; }

    internal Counter MessagesDelivered { get; }

    internal Counter.Child PulledMessages { get; }

    internal Counter.Child PushedMessages { get; }

    internal Counter MessagesAcked { get; }

    internal Gauge PendingMessages { get; }

    internal Gauge PendingBytes { get; }

    internal Gauge Addresses { get; }

    internal Gauge LogSize { get; }

    internal Gauge LogHead { get; }

    internal Gauge LogTail { get; }

    internal Gauge LogCommitted { get; }

    internal Counter Commits { get; }

    internal Counter MessagesExpired { get; }

    internal Counter MessagesMoved { get; }

    internal Counter.Child MemoryReads { get; }

    internal Counter.Child DeviceReads { get; }

    internal Counter.Child CacheHits { get; }

    internal Counter.Child CacheNegativeHits { get; }

    internal Counter.Child CacheMisses { get; }

    internal Gauge CacheEntries { get; }

    internal Gauge ResolveQueueDepth { get; }

    internal Gauge PushSubscribers { get; }

    internal Counter Wakeups { get; }

    internal Counter WakeupsSuppressed { get; }

    internal Counter.Child NotifyDelivered { get; }

    internal Counter.Child NotifyFailed { get; }

    internal Counter.Child NotifyRetries { get; }

    internal Counter.Child NotifyCoalesced { get; }

    internal Counter.Child NotifyDropped { get; }

    internal Counter AllocatedBytes { get; }

    internal Gauge ForwardQueued { get; }

    internal Gauge ForwardQueuedBytes { get; }

    internal Counter Forwarded { get; }

    internal Counter ForwardRetries { get; }

    internal Counter ForwardFailed { get; }

    /// <summary>A frame of <paramref name="type"/> and <paramref name="length"/> bytes (header included) was read. Allocation-free.</summary>
    public void FrameReceived(FrameType type, long length)
    {
        _framesIn[(byte)type].Inc();
        _bytesIn[(byte)type].Inc(length);
    }

    /// <summary>A frame was written. Allocation-free.</summary>
    public void FrameSent(FrameType type, long length)
    {
        _framesOut[(byte)type].Inc();
        _bytesOut[(byte)type].Inc(length);
    }

    /// <summary>A request was answered with ERROR <paramref name="code"/>. Allocation-free.</summary>
    public void Refused(ErrorCode code)
    {
        _refusedByCode[(ushort)code].Inc();
        if (ErrorCodes.ClosesConnection(code))
        {
            _closedByCode[(ushort)code].Inc();
        }
    }

    /// <summary>Connects the scrape-time readings to the relay's state.</summary>
    internal void Attach(RelayServer relay)
    {
        relay.Storage.FlushObserver = CommitDuration.Observe;
        relay.Resolution.QueueWaitObserver = (missClass, seconds) => _queueWait[(int)missClass].Observe(seconds);
        Registry.AddBeforeCollectCallback(() => Collect(relay));
    }

    private void Collect(RelayServer relay)
    {
        Connections.Set(relay.ConnectionCount);
        AllocatedBytes.IncTo(GC.GetTotalAllocatedBytes(precise: false));
        CollectAttachments(relay.Attachments.GetStatistics());
        StorageStatistics stats;
        try
        {
            stats = relay.Storage.GetStatistics();
        }
        catch (ObjectDisposedException)
        {
            return; // scraped while stopping: keep the last values
        }

        CollectStorageEngine(relay.Storage);

        PendingMessages.Set(stats.PendingMessages);
        PendingBytes.Set(stats.PendingBytes);
        Addresses.Set(stats.Addresses);
        LogSize.Set(stats.LogTailAddress - stats.LogBeginAddress);
        LogHead.Set(stats.LogBeginAddress);
        LogTail.Set(stats.LogTailAddress);
        LogCommitted.Set(stats.LogDurableAddress);
        Commits.IncTo(stats.Flushes);
        MessagesExpired.IncTo(stats.MessagesExpired);
        MessagesMoved.IncTo(stats.MessagesMoved);
        MemoryReads.IncTo(stats.MemoryReads);
        DeviceReads.IncTo(stats.DeviceReads);

        CollectForwarding(relay.Forwarding);
        var cache = relay.Resolver.Cache;
        CacheHits.IncTo(cache.Hits);
        CacheNegativeHits.IncTo(cache.NegativeHits);
        CacheMisses.IncTo(cache.Misses);
        CacheEntries.Set(cache.Count);
        var resolution = relay.Resolution;
        ResolveQueueDepth.Set(resolution.QueueDepth);
        foreach (var missClass in Enum.GetValues<MissClass>())
        {
            _missesResolved[(int)missClass].IncTo(resolution.Resolved(missClass));
            foreach (var refusal in (ReadOnlySpan<MissRefusal>)[MissRefusal.Connection, MissRefusal.Server, MissRefusal.Queue])
            {
                _missesRefused[(int)missClass, (int)refusal]!.IncTo(resolution.Refused(missClass, refusal));
            }
        }

        PushSubscribers.Set(relay.Push.Subscribers);
        Wakeups.IncTo(relay.Push.Wakeups);
        WakeupsSuppressed.IncTo(relay.Push.WakeupsSuppressed);
        if (relay.Notifier is Webhooks.WebhookNotifier webhook)
        {
            NotifyDelivered.IncTo(webhook.Delivered);
            NotifyFailed.IncTo(webhook.Failed);
            NotifyRetries.IncTo(webhook.Retries);
            NotifyCoalesced.IncTo(webhook.Coalesced);
            NotifyDropped.IncTo(webhook.Dropped);
        }
    }

    private void CollectForwarding(RelayForwarding? forwarding)
    {
        if (forwarding is null)
        {
            return;
        }

        var engine = forwarding.Engine;
        Forwarded.IncTo(engine.Forwarded);
        ForwardRetries.IncTo(engine.Retried);
        CollectBatched(engine);
        CollectClusterForwarding(engine);
        foreach (var (code, count) in engine.FailedByCode)
        {
            ForwardFailed.WithLabels(ErrorCodes.Name((ErrorCode)code)).IncTo(count);
        }

        try
        {
            var queue = forwarding.Queue.GetStatistics();
            ForwardQueued.Set(queue.QueuedMessages);
            ForwardQueuedBytes.Set(queue.QueuedBytes);
        }
        catch (ObjectDisposedException)
        {
            // Scraped while stopping: keep the last values.
        }
    }

    private static string FrameTypeName(byte type) => Enum.IsDefined((FrameType)type)
        ? ToSnake(((FrameType)type).ToString())
        : "unknown";

    private static string ToSnake(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('_');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }
}
