using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// How the store configures FASTER, in one place: where the files go, the device, the commit manager and
/// the log settings. The store opens its log with these, and so do the benchmarks' and the load generator's
/// raw-FasterLog baselines and the tests that write a raw record, so that each compares like with like.
/// </summary>
public static class FasterLogSetup
{
    /// <summary>How many fast commits share one commit file; see <see cref="CreateCommitManager"/>.</summary>
    public const int CommitFileEvery = 1000;

    /// <summary>The log's folder under a data directory: segments <c>relay.log.N</c> and <c>log-commits/</c>.</summary>
    public static string LogDirectory(string dataDirectory) => Path.Combine(dataDirectory, "log");

    /// <summary>The path prefix FASTER's device appends <c>.N</c> to for segment N.</summary>
    public static string SegmentPathPrefix(string dataDirectory) => Path.Combine(LogDirectory(dataDirectory), "relay.log");

    /// <summary>The log's device over <see cref="SegmentPathPrefix"/>; see <see cref="CreateDeviceAt"/>.</summary>
    public static IDevice CreateDevice(string dataDirectory) => CreateDeviceAt(SegmentPathPrefix(dataDirectory));

    /// <summary>
    /// The store's own device for segment files <c><paramref name="segmentPathPrefix"/>.N</c>: each write made
    /// durable with <c>fdatasync</c> into a segment zero-filled ahead of the log, so that a commit is one device
    /// write and one flush (FASTER's own device on Linux appends with O_SYNC: a journal commit per write). The
    /// file format is FASTER's: either device reads the other's files.
    /// </summary>
    public static IDevice CreateDeviceAt(string segmentPathPrefix) => new PreallocatedLogDevice(segmentPathPrefix);

    /// <summary>
    /// FASTER's commit manager, as FasterLog would make it, except that in fast-commit mode it writes its
    /// commit file only every <see cref="CommitFileEvery"/> commits (and whenever the log's metadata, such
    /// as its begin address after a truncation, changed: FASTER forces those).
    /// </summary>
    /// <remarks>
    /// Why: by default FASTER writes a new commit file on every commit even in fast-commit mode (create,
    /// O_SYNC write, delete the previous one: file-system metadata journalled each time, ~9 KB of managed
    /// allocations), although the commit record in the log already makes the commit durable. Recovery reads
    /// the newest commit file and then replays the commit records the log holds after it, so a file every
    /// thousand commits bounds how much log a restart scans, and nothing else.
    /// </remarks>
    public static DeviceLogCommitCheckpointManager CreateCommitManager(string logDirectory) =>
        new(new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(logDirectory), removeOutdated: true, fastCommitThrottleFreq: CommitFileEvery);

    /// <summary>
    /// The settings the store runs FASTER with. Dispose them after the log is created (FASTER copies what it
    /// needs).
    /// </summary>
    /// <param name="device">The log device (see <see cref="CreateDevice"/>).</param>
    /// <param name="commits">The commit manager (see <see cref="CreateCommitManager"/>).</param>
    /// <param name="logDirectory">The log's folder.</param>
    /// <param name="pageSizeBits">A record must fit in one page.</param>
    /// <param name="memorySizeBits">The in-memory part of the log.</param>
    /// <param name="segmentSizeBits">One file on disk.</param>
    public static FasterLogSettings CreateSettings(IDevice device, ILogCommitManager commits, string logDirectory, int pageSizeBits, int memorySizeBits, int segmentSizeBits) => new()
    {
        LogDevice = device,
        LogCommitManager = commits,
        PageSizeBits = pageSizeBits,
        MemorySizeBits = memorySizeBits,
        SegmentSizeBits = segmentSizeBits,
        LogCommitDir = logDirectory,

        // CreateAsync recovers asynchronously and lets a failure propagate; the constructor's synchronous
        // recovery swallows it and would start an empty log over a damaged one.
        TryRecoverLatest = true,

        // A commit writes its metadata into the log itself, in the same durable write as the data, instead of
        // creating a new commit file each time: about half the latency of a group commit, which is what a
        // durable SEND waits for. Recovery replays the commit records after the last full checkpoint.
        FastCommitMode = true,

        // An 8-byte checksum per entry (FASTER's XOR of the entry's 8-byte words), verified on every read from
        // the device and by recovery's scans. FASTER's settings document fast-commit mode as depending on
        // it: without it a torn or flipped entry is read as data, and recovery's forward scan for commit
        // records cannot tell a damaged entry from a valid one. LogVerifier relies on it past the commit point.
        LogChecksum = LogChecksumType.PerEntry,
    };
}
