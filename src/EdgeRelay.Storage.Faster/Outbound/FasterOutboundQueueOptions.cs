using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>Settings of a <see cref="FasterOutboundQueue"/>: the common <see cref="OutboundLimits"/> plus its log's own.</summary>
public sealed class FasterOutboundQueueOptions : OutboundLimits
{
    /// <summary>
    /// The queue's own folder: <c>log/</c> (FASTER segments and commits), <c>outbound.format</c> and a
    /// <c>lock</c> file. A relay puts it at <c>outbound/</c> in its data folder. Required; created if missing.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>Largest ciphertext a queued message may carry. Default 16384; a record must fit in one page.</summary>
    public int MaxPayloadBytes { get; set; } = 16384;

    /// <summary>Log page size as a power of two. Default 20 (1 MiB): ~60 full-size messages a page. Allowed: 12..30.</summary>
    public int PageSizeBits { get; set; } = 20;

    /// <summary>In-memory part of the log as a power of two. Default 23 (8 MiB, 8 pages). Allowed: PageSizeBits + 1 .. 34.</summary>
    public int MemorySizeBits { get; set; } = 23;

    /// <summary>One log file as a power of two. Default 26 (64 MiB): the unit in which disk space comes back. Allowed: PageSizeBits .. 40.</summary>
    public int SegmentSizeBits { get; set; } = 26;

    /// <summary>
    /// How often settled statuses past their retention are dropped, old live records carried forward and the
    /// log head truncated. Default 10 s. Allowed: 1 ms .. 1 day.
    /// </summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Compaction starts when the log spans more than this many bytes: live records in its older half are
    /// copied forward so that the head can move past them (one message queued for days would otherwise keep
    /// every record after it on disk). Default 0: four segments. Otherwise at least one segment.
    /// </summary>
    public long CompactionSpanBytes { get; set; }

    /// <summary>As <see cref="FasterStorageOptions.TruncateDamagedLog"/>, for this log.</summary>
    public bool TruncateDamagedLog { get; set; }

    /// <summary>As <see cref="FasterStorageOptions.CreateLogDevice"/>, for this log (fault injection in tests).</summary>
    public Func<string, IDevice>? CreateLogDevice { get; set; }

    internal long EffectiveCompactionSpan => CompactionSpanBytes == 0 ? 4L << SegmentSizeBits : CompactionSpanBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("FasterOutboundQueueOptions.Directory is required.", nameof(Directory));
        }

        ValidateLimits();
        Check(nameof(PageSizeBits), PageSizeBits, FasterStorageOptions.MinPageSizeBits, FasterStorageOptions.MaxPageSizeBits);
        Check(nameof(MemorySizeBits), MemorySizeBits, PageSizeBits + 1, 34);
        Check(nameof(SegmentSizeBits), SegmentSizeBits, PageSizeBits, FasterStorageOptions.MaxSizeBits);
        if (MaxPayloadBytes < 1 || MaxPayloadBytes + OutboundRecords.MaxOverhead > 1 << PageSizeBits)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPayloadBytes), MaxPayloadBytes, $"FasterOutboundQueueOptions.MaxPayloadBytes must be between 1 and {(1 << PageSizeBits) - OutboundRecords.MaxOverhead}: a queued record must fit in one page (PageSizeBits = {PageSizeBits}).");
        }

        if (MaintenanceInterval < TimeSpan.FromMilliseconds(1) || MaintenanceInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MaintenanceInterval), MaintenanceInterval, "FasterOutboundQueueOptions.MaintenanceInterval must be between 1 ms and 1 day.");
        }

        if (CompactionSpanBytes != 0 && CompactionSpanBytes < 1L << SegmentSizeBits)
        {
            throw new ArgumentOutOfRangeException(nameof(CompactionSpanBytes), CompactionSpanBytes, "FasterOutboundQueueOptions.CompactionSpanBytes must be 0 (four segments) or at least one segment.");
        }
    }

    /// <summary>The smallest page size (bits) that holds a queued record of <paramref name="maxPayloadBytes"/>, at least <paramref name="atLeast"/>.</summary>
    public static int PageSizeBitsFor(int maxPayloadBytes, int atLeast)
    {
        var bits = Math.Max(atLeast, FasterStorageOptions.MinPageSizeBits);
        while ((1 << bits) < maxPayloadBytes + OutboundRecords.MaxOverhead && bits < FasterStorageOptions.MaxPageSizeBits)
        {
            bits++;
        }

        return bits;
    }

    internal FasterStorageOptions LogOptions() => new()
    {
        DataDirectory = Directory,
        PageSizeBits = PageSizeBits,
        MemorySizeBits = MemorySizeBits,
        SegmentSizeBits = SegmentSizeBits,
        ReadCacheSizeBits = 0,
        TruncateDamagedLog = TruncateDamagedLog,
        CreateLogDevice = CreateLogDevice,
    };

    private static void Check(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"FasterOutboundQueueOptions.{name} must be between {min} and {max} (inclusive).");
        }
    }
}
