using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using EdgeRelay.Storage.JetStream;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>
/// Opens the storage backend the Storage section describes. The one place the server names an engine: every
/// other part of it sees only the storage contracts. <c>Storage:Backend</c> chooses: the FASTER log in the
/// data folder (one machine), or replicated streams on a NATS JetStream cluster (several nodes as one service).
/// </summary>
internal static class StorageBackends
{
    public static async Task<IRelayStorage> OpenAsync(EdgeRelayOptions options, string dataDirectory, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        options.Storage.UsesJetStream
            ? await JetStreamStorage.OpenAsync(JetStreamOptions(options), time, loggerFactory.CreateLogger<JetStreamStorage>(), ct: cancellationToken, clientLoggers: loggerFactory)
            : await FasterStorage.OpenAsync(FasterOptions(options, dataDirectory), time, loggerFactory.CreateLogger<FasterStorage>(), cancellationToken);

    /// <summary>
    /// Opens the sending service's outbound queue beside <paramref name="storage"/>: on a JetStream cluster a stream every
    /// node shares (a SEND_VIA acknowledged by a node that is then lost is forwarded by another), otherwise a FASTER
    /// log in the data folder's <c>outbound/</c>.
    /// </summary>
    public static async Task<IOutboundQueue> OpenOutboundQueueAsync(EdgeRelayOptions options, IRelayStorage storage, string dataDirectory, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (storage is not JetStreamStorage shared)
        {
            return await FasterOutboundQueue.OpenAsync(RelayForwarding.QueueOptions(options, dataDirectory), time, loggerFactory.CreateLogger<FasterOutboundQueue>(), cancellationToken);
        }

        await RefuseLocalOutboundAsync(options, dataDirectory, time, loggerFactory, cancellationToken);
        return await shared.OpenOutboundQueueAsync(RelayForwarding.QueueLimits(options), loggerFactory.CreateLogger<JetStreamOutboundQueue>(), cancellationToken);
    }

    /// <summary>
    /// A data folder whose relay kept SEND_VIAs in its own FASTER log (run on one machine before it joined a cluster)
    /// must not join while that log holds queued ones: a cluster node forwards only the cluster's queue, so they would
    /// wait for ever, and their senders hold send ids only that log answers for. The start is refused (exit code 3)
    /// with what to do; an emptied log is left as it is.
    /// </summary>
    private static async Task RefuseLocalOutboundAsync(EdgeRelayOptions options, string dataDirectory, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var local = RelayForwarding.QueueOptions(options, dataDirectory);
        if (!Directory.Exists(local.Directory) || !Directory.EnumerateFileSystemEntries(local.Directory).Any())
        {
            return;
        }

        long queued;
        await using (var log = await FasterOutboundQueue.OpenAsync(local, time, loggerFactory.CreateLogger<FasterOutboundQueue>(), cancellationToken))
        {
            queued = log.GetStatistics().QueuedMessages;
        }

        if (queued > 0)
        {
            throw new InvalidDataException(
                $"The outbound log in {local.Directory} holds {queued} queued SEND_VIAs, which a node of a cluster would not forward. "
                + "Run this data folder with Storage:Backend=faster until they are delivered (edgerelay_forward_queued_messages 0), then start it in the cluster. Nothing was sent or dropped.");
        }
    }

    /// <summary>
    /// Where a cluster's committed attachments are kept beside each node's disk, so that any node serves them (an object
    /// store bucket on the JetStream cluster); null for one machine, whose attachments are on its disk alone.
    /// </summary>
    public static async Task<IAttachmentReplicas?> OpenAttachmentReplicasAsync(EdgeRelayOptions options, IRelayStorage storage, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (storage is not JetStreamStorage shared)
        {
            return null;
        }

        if (string.IsNullOrEmpty(options.Attachments.PublicBaseUrl))
        {
            RelayLog.AttachmentUrlsNameOneNode(loggerFactory.CreateLogger("EdgeRelay.Attachments"), options.Http.Endpoint);
        }

        return await shared.OpenAttachmentReplicasAsync(options.Attachments.Expiry, cancellationToken);
    }

    /// <summary>The largest ciphertext the outbound queue holds: a queued record on a cluster is one NATS message, with its own fields and headers.</summary>
    public static int MaxOutboundCiphertext(IOutboundQueue queue) => queue is JetStreamOutboundQueue shared ? shared.MaxCiphertextBytes : int.MaxValue;

    /// <summary>The Storage and Relay sections as JetStream backend options.</summary>
    public static JetStreamStorageOptions JetStreamOptions(EdgeRelayOptions options)
    {
        var section = options.Storage.JetStream;
        return new JetStreamStorageOptions
        {
            Url = section.Url,
            StreamPrefix = section.StreamPrefix,
            Replicas = section.Replicas,
            Partitions = section.Partitions,
            PublishRetryWindow = section.PublishRetryWindow,
            ReadCacheBytes = section.ReadCacheBytes,
            HeartbeatInterval = section.HeartbeatInterval,
            NodeTimeout = section.NodeTimeout,
            CredentialsFile = NullIfEmpty(section.CredentialsFile),
            TlsCaFile = NullIfEmpty(section.TlsCaFile),
            TlsCertFile = NullIfEmpty(section.TlsCertFile),
            TlsKeyFile = NullIfEmpty(section.TlsKeyFile),
            MaxPayloadBytes = options.Relay.MaxCiphertextBytes,
            MaintenanceInterval = options.Storage.MaintenanceInterval,
            MessageTtl = options.Storage.MessageTtl,
            MaxPendingMessagesPerAddress = options.Storage.MaxPendingMessagesPerAddress,
            MaxPendingBytesPerAddress = options.Storage.MaxPendingBytesPerAddress,
            MaxPendingBytes = options.Storage.MaxDiskBytes,
        };
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>The Storage and Relay sections as FASTER backend options.</summary>
    public static FasterStorageOptions FasterOptions(EdgeRelayOptions options, string dataDirectory) => new()
    {
        DataDirectory = dataDirectory,
        PageSizeBits = options.Storage.PageSizeBits,
        MemorySizeBits = options.Storage.MemorySizeBits,
        SegmentSizeBits = options.Storage.SegmentSizeBits,
        ReadCacheSizeBits = options.Storage.ReadCacheSizeBits,
        MaxPayloadBytes = options.Relay.MaxCiphertextBytes,
        MaintenanceInterval = options.Storage.MaintenanceInterval,
        MessageTtl = options.Storage.MessageTtl,
        MaxPendingMessagesPerAddress = options.Storage.MaxPendingMessagesPerAddress,
        MaxPendingBytesPerAddress = options.Storage.MaxPendingBytesPerAddress,
        MaxLogBytes = options.Storage.MaxDiskBytes,
        CompactionMaxLivePercent = options.Storage.CompactionMaxLivePercent,
        TruncateDamagedLog = options.Storage.TruncateDamagedLog,
    };
}
