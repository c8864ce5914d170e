using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Settings of a <see cref="FasterStorage"/>: the common <see cref="StorageLimits"/> plus FASTER's own.
/// Plain settable properties so that the host can bind them from configuration; <see cref="Validate"/> runs
/// at <see cref="FasterStorage.OpenAsync"/>.
/// </summary>
public sealed class FasterStorageOptions : StorageLimits
{
    /// <summary>Smallest page FASTER is given here (4 KiB, one disk sector multiple).</summary>
    public const int MinPageSizeBits = 12;

    /// <summary>Largest page (1 GiB): FASTER pages are single pinned arrays.</summary>
    public const int MaxPageSizeBits = 30;

    /// <summary>Upper bound for memory and segment sizes (1 TiB): a guard against typos, not a FASTER limit.</summary>
    public const int MaxSizeBits = 40;

    /// <summary>The read cache is one array, and .NET arrays stop short of 2 GiB.</summary>
    public const int MaxReadCacheSizeBits = 30;

    /// <summary>
    /// Root of everything the store writes: <c>log/</c> (FASTER segments <c>relay.log.N</c> and
    /// <c>log-commits/</c>), <c>addresses.snapshot</c>, <c>storage.format</c> and a <c>lock</c> file.
    /// Required; created if missing.
    /// </summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// Log page size as a power of two. Default 22 (4 MiB, FASTER's own default): a record must fit
    /// in one page, and 4 MiB holds ~250 maximum-size (16 KiB) messages, so the space lost at page
    /// ends (~60 B average for 16 KiB records) stays negligible. Must hold
    /// <see cref="StorageLimits.MaxPayloadBytes"/> plus the 33-byte moved-message header and FASTER's
    /// 12-byte entry header. Allowed: 12..30.
    /// </summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>
    /// In-memory part of the log as a power of two. Default 26 (64 MiB = 16 pages): at the ~500 MB/s
    /// this class of disk sustains, it absorbs ~100 ms of ingest before appends see
    /// <see cref="AppendStatus.Backpressure"/>, which is longer than a commit's p99 (6–60 ms) measured
    /// at saturation. Allowed: <see cref="PageSizeBits"/> + 1 (two pages: one filling while one flushes) .. 40.
    /// </summary>
    public int MemorySizeBits { get; set; } = 26;

    /// <summary>
    /// Size of one log file on disk as a power of two. Default 28 (256 MiB): truncation deletes whole
    /// segments only, so this is the granularity at which disk space comes back; smaller means more
    /// files and more open handles. Allowed: <see cref="PageSizeBits"/> (FASTER requires a segment
    /// to hold at least one page) .. 40.
    /// </summary>
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>
    /// Memory mirror of the newest message records, as a power of two. Default 26 (64 MiB, ~0.3 s of
    /// ingest at 200 MB/s): a message delivered within that span of its arrival (push, a PULL that keeps
    /// up) is copied from memory instead of read from the device, which FasterLog does for every random
    /// read. Costs one extra copy of each ciphertext on SEND. 0 turns it off. Allowed: 0, or
    /// <see cref="PageSizeBits"/> + 1 .. 30.
    /// </summary>
    public int ReadCacheSizeBits { get; set; } = 26;

    /// <summary>
    /// How often the store drops expired messages, compacts, rewrites the address snapshot and truncates
    /// the log head. Default 10 s: it bounds how many address records a restart replays and how long
    /// consumed segments stay on disk, while a snapshot (one sequential file write + fsync) every 10 s costs
    /// nothing measurable. Allowed: 1 ms .. 1 day.
    /// </summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The global disk budget: largest span of the log on disk (tail − head, which includes consumed
    /// records not yet truncated). A SEND that would pass it is refused (QUOTA_SERVER); acks and
    /// control records are always accepted, so owners can always drain. Default 16 GiB. 0 disables it.
    /// Allowed: 0, or at least four segments (truncation frees whole segments).
    /// </summary>
    public long MaxLogBytes { get; set; } = 16L << 30;

    /// <summary>
    /// Compaction: when the live (unacknowledged) bytes in the old part of the log are at most this percent
    /// of it, maintenance copies them forward so the head can move past it. Default 25: copying a quarter
    /// frees three quarters; a dense backlog (an owner simply behind) is not rewritten over and over.
    /// 0 disables compaction. Allowed: 0 .. 90.
    /// </summary>
    public int CompactionMaxLivePercent { get; set; } = 25;

    /// <summary>
    /// What to do when the log holds evidence of durable records past the point recovery could reach (a
    /// commit record beyond it, or a damaged or cut-off entry there). Default false: refuse to open, naming
    /// the offsets and the folder, so nothing acknowledged is silently rolled back. True: drop everything
    /// past the last commit recovery reached, log what was dropped (offsets, records, commits), and open.
    /// Meant for one start, by an operator who has kept a copy of the folder and accepts the loss.
    /// </summary>
    public bool TruncateDamagedLog { get; set; }

    /// <summary>
    /// Creates FASTER's device for the log files at the given path prefix. Default (null): the store's own
    /// device (<see cref="FasterLogSetup.CreateDevice"/>). A replacement must keep the local files'
    /// layout, which <see cref="FasterStorage"/> also reads directly to verify the log after recovery; the
    /// use is wrapping the default device (fault injection) or tuning its flags.
    /// </summary>
    public Func<string, IDevice>? CreateLogDevice { get; set; }

    protected override int LargestPayloadBytes => LogRecords.MaxPayloadForPage(1 << PageSizeBits);

    protected override string LargestPayloadReason => $"a message record must fit in one log page (PageSizeBits = {PageSizeBits}); raise PageSizeBits for larger payloads.";

    /// <summary>Throws <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the first invalid option and its allowed range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("FasterStorageOptions.DataDirectory is required (a directory path; it is created if missing).", nameof(DataDirectory));
        }

        CheckRange(nameof(PageSizeBits), PageSizeBits, MinPageSizeBits, MaxPageSizeBits);
        CheckRange(nameof(MemorySizeBits), MemorySizeBits, PageSizeBits + 1, MaxSizeBits);
        CheckRange(nameof(SegmentSizeBits), SegmentSizeBits, PageSizeBits, MaxSizeBits);
        if (ReadCacheSizeBits != 0 && (ReadCacheSizeBits <= PageSizeBits || ReadCacheSizeBits > MaxReadCacheSizeBits))
        {
            throw new ArgumentOutOfRangeException(
                nameof(ReadCacheSizeBits),
                ReadCacheSizeBits,
                $"FasterStorageOptions.ReadCacheSizeBits must be 0 (off) or between {PageSizeBits + 1} (PageSizeBits + 1) and {MaxReadCacheSizeBits}.");
        }

        ValidateLimits();

        if (MaxLogBytes != 0 && MaxLogBytes < 4L << SegmentSizeBits)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLogBytes), MaxLogBytes, $"FasterStorageOptions.MaxLogBytes must be 0 (no budget) or at least four segments ({4L << SegmentSizeBits} bytes with SegmentSizeBits = {SegmentSizeBits}).");
        }

        CheckRange(nameof(CompactionMaxLivePercent), CompactionMaxLivePercent, 0, 90);

        if (MaintenanceInterval < TimeSpan.FromMilliseconds(1) || MaintenanceInterval > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaintenanceInterval),
                MaintenanceInterval,
                "FasterStorageOptions.MaintenanceInterval must be between 1 ms and 1 day.");
        }
    }

    private static void CheckRange(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"FasterStorageOptions.{name} must be between {min} and {max} (inclusive).");
        }
    }
}
