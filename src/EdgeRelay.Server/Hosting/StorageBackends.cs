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

        var queue = await shared.OpenOutboundQueueAsync(RelayForwarding.QueueLimits(options), loggerFactory.CreateLogger<JetStreamOutboundQueue>(), cancellationToken);
        try
        {
            await MoveLocalOutboundAsync(options, dataDirectory, queue, time, loggerFactory, cancellationToken);
            return queue;
        }
        catch
        {
            await queue.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A node that kept its outbound queue in its own FASTER log (before the cluster's queue served SEND_VIA, or run on
    /// one machine first) hands what is still queued there to the cluster's queue, so that no acknowledged SEND_VIA is
    /// left behind: each is queued there (with a new send id, and released at once), then settled here, so a crash
    /// midway moves the rest next time and none twice. The emptied log's folder is renamed <c>outbound.moved</c>.
    /// </summary>
    private static async Task MoveLocalOutboundAsync(EdgeRelayOptions options, string dataDirectory, JetStreamOutboundQueue queue, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var local = RelayForwarding.QueueOptions(options, dataDirectory);
        if (!Directory.Exists(local.Directory) || !Directory.EnumerateFileSystemEntries(local.Directory).Any())
        {
            return;
        }

        var moved = 0;
        var left = 0;
        var reason = "none";
        await using (var log = await FasterOutboundQueue.OpenAsync(local, time, loggerFactory.CreateLogger<FasterOutboundQueue>(), cancellationToken))
        {
            var queued = log.GetQueued();
            foreach (var message in queued)
            {
                var result = await queue.EnqueueAsync(new OutboundRequest(message.Owner, message.Endpoint, message.Pin, message.EphemeralAddress, message.Ciphertext), cancellationToken);
                if (result.Status != OutboundEnqueueStatus.Queued)
                {
                    (left, reason) = (queued.Count - moved, "the cluster's queue is full; moved at the next start");
                    break;
                }

                await queue.WaitDurableAsync(result.Ticket, cancellationToken);
                var settled = await log.SettleAsync(message.SendId, OutboundState.Delivered, 0, cancellationToken);
                await log.WaitDurableAsync(settled.Ticket, cancellationToken);
                moved++;
            }
        }

        if (moved > 0 || left > 0)
        {
            RelayLog.OutboundMigrated(loggerFactory.CreateLogger("EdgeRelay.Forwarding"), moved, left, reason);
        }

        if (left == 0)
        {
            var target = local.Directory + ".moved";
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.Move(local.Directory, target);
        }
    }

    /// <summary>
    /// Where a cluster's committed attachments are kept beside each node's disk, so that any node serves them (an object
    /// store bucket on the JetStream cluster); null for one machine, whose attachments are on its disk alone.
    /// </summary>
    public static async Task<IAttachmentReplicas?> OpenAttachmentReplicasAsync(EdgeRelayOptions options, IRelayStorage storage, CancellationToken cancellationToken) =>
        storage is JetStreamStorage shared ? await shared.OpenAttachmentReplicasAsync(options.Attachments.Expiry, cancellationToken) : null;

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
