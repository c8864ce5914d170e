using System.Collections.Concurrent;
using System.Diagnostics;
using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Storage;

/// <summary>
/// The relay's durable queue: every state change and every message is a record in one FASTER log;
/// an in-memory registry (address → owner, expiry, revocation) and pending index (address → un-acked
/// messages) are derived from it and rebuilt on open. Thread-safe; meant to be shared by every
/// connection session of the process.
/// </summary>
/// <remarks>
/// <para>Files, one concern each: <c>RelayStore.Addresses.cs</c> (create, revoke, look up),
/// <c>RelayStore.Ingest.cs</c> (append), <c>RelayStore.Durability.cs</c> (commit and waiting for it),
/// <c>RelayStore.Delivery.cs</c> (pending, payloads, acks), <c>RelayStore.Maintenance.cs</c>
/// (snapshot, truncation), <c>RelayStore.Retention.cs</c> (TTL sweep, compaction); <see cref="LogRecords"/> is the record format, <see cref="Recovery"/> the
/// replay, <see cref="GroupCommitter"/> the commit loop.</para>
/// <para>Durability: a method that appends returns the record's log address at once; the record is
/// durable (and, for a message, deliverable) only once a commit covers it. The caller awaits
/// <see cref="WaitForCommitAsync"/> before it acknowledges anything to its peer.</para>
/// </remarks>
public sealed partial class RelayStore : IAsyncDisposable
{
    // _state counts the operations in flight that may touch the log; Closed marks disposal, after
    // which new operations throw and DisposeAsync waits for the count to reach zero.
    private const int Closed = 1 << 30;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _dataDirectory;
    private readonly int _maxPayloadBytes;
    private readonly int _maxAckIds;
    private readonly long _messageTtlMs;
    private readonly int _maxPendingMessagesPerAddress;
    private readonly long _maxPendingBytesPerAddress;
    private readonly long _maxLogBytes;
    private readonly int _compactionMaxLivePercent;
    private readonly FileStream _lockFile;
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _commits;
    private readonly FasterLog _log;
    private readonly GroupCommitter _committer;
    private readonly RecentRecords? _recent;
    private readonly ConcurrentDictionary<AddressId, AddressEntry> _registry;

    // Serialises address-record appends (create, revoke) with the snapshot's copy of the registry,
    // so that the snapshot's covered address splits those records exactly.
    private readonly Lock _registryLock = new();
    private readonly int _segmentSizeBits;

    private int _state;
    private int _disposeStarted;
    private int _addressCount;
    private long _pendingMessages;
    private long _deviceReads;
    private long _pendingBytes;

    private RelayStore(
        RelayStoreOptions options,
        TimeProvider time,
        ILogger logger,
        string dataDirectory,
        FileStream lockFile,
        IDevice device,
        DeviceLogCommitCheckpointManager commits,
        FasterLog log,
        ConcurrentDictionary<AddressId, AddressEntry> registry,
        long snapshotAddress,
        Recovery replay)
    {
        _time = time;
        _logger = logger;
        _dataDirectory = dataDirectory;
        _maxPayloadBytes = options.MaxPayloadBytes;
        _segmentSizeBits = options.SegmentSizeBits;
        _maxAckIds = LogRecords.MaxAckIdsForPage(1 << options.PageSizeBits);
        _messageTtlMs = (long)options.MessageTtl.TotalMilliseconds;
        _maxPendingMessagesPerAddress = options.MaxPendingMessagesPerAddress;
        _maxPendingBytesPerAddress = options.MaxPendingBytesPerAddress;
        _maxLogBytes = options.MaxLogBytes;
        _compactionMaxLivePercent = options.CompactionMaxLivePercent;
        _lockFile = lockFile;
        _device = device;
        _commits = commits;
        _log = log;
        _registry = registry;
        _addressCount = registry.Count;
        _pendingMessages = replay.PendingMessages;
        _pendingBytes = replay.PendingBytes;
        _snapshotCoveredAddress = snapshotAddress;
        _committer = new GroupCommitter(log, logger);
        _recent = options.ReadCacheSizeBits == 0 ? null : new RecentRecords(log, options.ReadCacheSizeBits, options.PageSizeBits);
        _maintenanceTimer = new PeriodicTimer(options.MaintenanceInterval, time);
        _maintenanceLoop = Task.Run(MaintenanceLoopAsync);
    }

    /// <summary>
    /// Opens (or creates) the store in <see cref="RelayStoreOptions.DataDirectory"/> and rebuilds its
    /// state from the address snapshot and the committed log.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and its range).</exception>
    /// <exception cref="IOException">Another process holds the directory.</exception>
    /// <exception cref="InvalidDataException">The snapshot or the log is corrupt or inconsistent; the data files are left for inspection.</exception>
    public static async Task<RelayStore> OpenAsync(RelayStoreOptions options, TimeProvider time, ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        logger ??= NullLogger.Instance;
        var started = Stopwatch.GetTimestamp();

        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var logDirectory = Path.Combine(dataDirectory, "log");
        Directory.CreateDirectory(logDirectory);
        var lockFile = OpenLockFile(dataDirectory);
        IDevice? device = null;
        DeviceLogCommitCheckpointManager? commits = null;
        FasterLog? log = null;
        try
        {
            File.Delete(Path.Combine(dataDirectory, AddressSnapshot.TempFileName)); // a snapshot write cut short

            device = Devices.CreateLogDevice(Path.Combine(logDirectory, "relay.log"));
            commits = CreateCommitManager(logDirectory);
            using var settings = new FasterLogSettings
            {
                LogDevice = device,
                LogCommitManager = commits,
                PageSizeBits = options.PageSizeBits,
                MemorySizeBits = options.MemorySizeBits,
                SegmentSizeBits = options.SegmentSizeBits,
                LogCommitDir = logDirectory,
                // CreateAsync recovers asynchronously and lets a failure propagate; the constructor's
                // synchronous recovery swallows it and would start an empty log over a damaged one.
                TryRecoverLatest = true,
                // A commit writes its metadata into the log itself, in the same O_SYNC write as the
                // data, instead of creating a new commit file each time: about half the latency of a
                // group commit, which is what a durable SEND waits for. Recovery replays the commit
                // records after the last full checkpoint.
                FastCommitMode = true,
            };
            log = await FasterLog.CreateAsync(settings, ct);
            ct.ThrowIfCancellationRequested();

            var registry = new ConcurrentDictionary<AddressId, AddressEntry>();
            var (snapshotAddress, replay) = Recovery.Run(log, dataDirectory, registry);
            ct.ThrowIfCancellationRequested();

            var store = new RelayStore(options, time, logger, dataDirectory, lockFile, device, commits, log, registry, snapshotAddress, replay);
            StorageLog.Opened(
                logger,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                registry.Count,
                snapshotAddress,
                replay.PendingMessages,
                replay.PendingBytes,
                replay.Records,
                log.BeginAddress,
                log.CommittedUntilAddress);
            return store;
        }
        catch
        {
            log?.Dispose();
            commits?.Dispose();
            device?.Dispose();
            await lockFile.DisposeAsync();
            throw;
        }
    }

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

    /// <summary>How many fast commits share one commit file; see <see cref="CreateCommitManager"/>.</summary>
    public const int CommitFileEvery = 1000;

    /// <summary>Receives each group commit's duration in seconds (for metrics). Called on the committer's thread: keep it cheap.</summary>
    public Action<double>? CommitObserver
    {
        get => _committer.Observer;
        set => _committer.Observer = value;
    }

    /// <summary>The memory mirror of recent records, for tests that damage it; null when it is off.</summary>
    internal RecentRecords? Mirror => _recent;

    /// <summary>Every record below this log address is durable.</summary>
    public long CommittedUntilAddress => Volatile.Read(ref _log.CommittedUntilAddress);

    public StoreStatistics GetStatistics()
    {
        ThrowIfClosed();
        return new StoreStatistics(
            Volatile.Read(ref _addressCount),
            Interlocked.Read(ref _pendingMessages),
            Interlocked.Read(ref _pendingBytes),
            _log.BeginAddress,
            _log.TailAddress,
            CommittedUntilAddress,
            _committer.Commits,
            Interlocked.Read(ref _messagesExpired),
            Interlocked.Read(ref _messagesMoved),
            _recent?.Hits ?? 0,
            Interlocked.Read(ref _deviceReads));
    }

    /// <summary>
    /// Stops accepting operations, waits for those in flight, writes a final snapshot, truncates,
    /// commits everything appended, then releases the log, the device and the directory lock.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        await CloseAsync(graceful: true);
    }

    /// <summary>
    /// Test hook: releases everything like a crash would, without the final snapshot and commit, so
    /// records appended since the last commit are lost exactly as after a power cut.
    /// </summary>
    internal async Task SimulateCrashAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        await CloseAsync(graceful: false);
    }

    private static FileStream OpenLockFile(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "lock");
        try
        {
            // FileShare.None: .NET takes an exclusive advisory lock (flock on Unix), released with the handle.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The relay store directory '{dataDirectory}' is in use by another store (cannot lock '{path}').", ex);
        }
    }

    private async Task CloseAsync(bool graceful)
    {
        Interlocked.Or(ref _state, Closed);
        try
        {
            while ((Volatile.Read(ref _state) & ~Closed) != 0)
            {
                // Appends waiting for log space hold an operation; the committer keeps serving them.
                await Task.Delay(1);
            }

            _maintenanceTimer.Dispose();
            await _maintenanceLoop;

            if (graceful)
            {
                try
                {
                    await MaintainAsync();
                    await _committer.CommitAsync();
                }
                catch (Exception ex)
                {
                    // Closing must release the log and the directory whatever happened; what was not
                    // committed was never acknowledged to anyone.
                    StorageLog.MaintenanceFailed(_logger, ex);
                }
            }

            await _committer.StopAsync();
        }
        finally
        {
            var committed = CommittedUntilAddress;
            _log.Dispose();
            _commits.Dispose();
            _device.Dispose();
            _committer.Dispose();
            _maintenanceGate.Dispose();
            await _lockFile.DisposeAsync();
            StorageLog.Closed(_logger, committed, _committer.Commits);
        }
    }

    private void EnterOperation()
    {
        if ((Interlocked.Increment(ref _state) & Closed) != 0)
        {
            Interlocked.Decrement(ref _state);
            ThrowHelper.ThrowDisposed();
        }
    }

    private void ExitOperation() => Interlocked.Decrement(ref _state);

    private void ThrowIfClosed()
    {
        if ((Volatile.Read(ref _state) & Closed) != 0)
        {
            ThrowHelper.ThrowDisposed();
        }
    }

    private bool IsClosing => (Volatile.Read(ref _state) & Closed) != 0;

    /// <summary>FASTER signals a failed device by throwing its own exception types from every later enqueue; callers see an <see cref="IOException"/>.</summary>
    private bool TryEnqueue(ReadOnlySpan<byte> record, out long address)
    {
        try
        {
            return _log.TryEnqueue(record, out address);
        }
        catch (FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    private long NowUnixSeconds() => _time.GetUtcNow().ToUnixTimeSeconds();
}
