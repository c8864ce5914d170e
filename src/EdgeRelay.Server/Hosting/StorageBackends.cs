using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>
/// Opens the storage backend the Storage section describes. The one place the server names an engine: every
/// other part of it sees only the storage contracts. Today the FASTER log in the data folder; a replicated
/// backend is added here and chosen by an option.
/// </summary>
internal static class StorageBackends
{
    public static async Task<IRelayStorage> OpenAsync(EdgeRelayOptions options, string dataDirectory, TimeProvider time, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        await FasterStorage.OpenAsync(FasterOptions(options, dataDirectory), time, loggerFactory.CreateLogger<FasterStorage>(), cancellationToken);

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
