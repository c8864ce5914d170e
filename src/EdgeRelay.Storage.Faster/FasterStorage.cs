using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The storage contracts on one FASTER log: every state change and every message is a record in the log;
/// the registry (address → owner, expiry, revocation, settings) and the pending index (address → unacked
/// messages) are derived from it and rebuilt on open. Thread-safe; shared by every connection of a relay.
/// </summary>
/// <remarks>
/// <para>This class only opens, wires and closes; each concern is a type of its own: <see cref="AddressTable"/>
/// (registry and address records), <see cref="MessageIngest"/> (appends and quotas), <see cref="MessageRemoval"/>
/// (acks and the TTL), <see cref="PayloadReader"/> (listing and reads, with the <see cref="RecentRecords"/>
/// mirror), <see cref="LogWriter"/> and <see cref="GroupCommitter"/> (appending and commit scheduling),
/// <see cref="MaintenanceRunner"/> with <see cref="Compactor"/> and <see cref="SnapshotWriter"/> (housekeeping),
/// <see cref="LogRecords"/> (the record format), <see cref="Replay"/> and <see cref="LogVerifier"/> (recovery).</para>
/// <para>Ids and tickets: a message's id is the log address of the record it first arrived in; a ticket is
/// the log address of the record a write appended, durable once FASTER's committed-until address passes it.</para>
/// <para>Longer than most files here because it is the whole contract surface: every member enters and
/// leaves the store's gate (which closing waits on) explicitly, without closures, since several are on the
/// SEND path; the work itself is in the types above.</para>
/// </remarks>
public sealed partial class FasterStorage : IRelayStorage, IBackupSource
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileStream _lockFile;
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _commits;
    private readonly FasterLog _fasterLog;
    private readonly GroupCommitter _committer;
    private readonly LogDurability _durability;
    private readonly StoreGate _gate = new();
    private readonly StoreCounters _counters;
    private readonly LogWriter _log;
    private readonly AddressTable _registry;
    private readonly MessageIngest _ingest;
    private readonly MessageRemoval _removal;
    private readonly PayloadReader _reader;
    private readonly MaintenanceRunner _maintenance;
    private readonly int _segmentSizeBits;
    private readonly int _pageSizeBits;
    private int _disposeStarted;

    private FasterStorage(FasterStorageOptions options, TimeProvider time, ILogger logger, string dataDirectory, OpenLog open, AddressIndex registry, long snapshotAddress, Replay replay)
    {
        _time = time;
        _logger = logger;
        DataDirectory = dataDirectory;
        _lockFile = open.LockFile;
        _device = open.Device;
        _commits = open.Commits;
        _fasterLog = open.Log;
        MaxPayloadBytes = options.MaxPayloadBytes;
        _segmentSizeBits = options.SegmentSizeBits;
        _pageSizeBits = options.PageSizeBits;
        _counters = new StoreCounters(replay.PendingMessages, replay.PendingBytes);
        _committer = new GroupCommitter(_fasterLog, logger);
        var mirror = options.ReadCacheSizeBits == 0 ? null : new RecentRecords(_fasterLog, options.ReadCacheSizeBits, options.PageSizeBits);
        _log = new LogWriter(_fasterLog, options.PageSizeBits, _committer, mirror);
        _durability = new LogDurability(_gate, _log, _committer);
        _registry = new AddressTable(registry, _log, time);
        _ingest = new MessageIngest(_registry, _log, _counters, time, options);
        _removal = new MessageRemoval(_registry, _log, _counters, LogRecords.MaxAckIdsForPage(1 << options.PageSizeBits), logger);
        _reader = new PayloadReader(_registry, _log, _counters);
        var compactor = new Compactor(_registry, _log, _reader, _counters, _gate, options, logger);
        var snapshot = new SnapshotWriter(_registry, _log, dataDirectory, options.SegmentSizeBits, snapshotAddress, logger);
        _maintenance = new MaintenanceRunner(_registry, _log, _removal, compactor, snapshot, _fasterLog.TruncateUntil, time, options, logger);
        _maintenance.Start();
    }

    /// <summary>The data folder (full path).</summary>
    public string DataDirectory { get; }

    public int MaxPayloadBytes { get; }

    public int MaxAckIds => _removal.MaxIds;

    /// <summary>Every record below this log address is durable (the FASTER view of <see cref="IsDurable"/>).</summary>
    public long CommittedUntilAddress => _log.CommittedUntil;

    /// <inheritdoc/>
    public Exception? Failure => _committer.Failure;

    public Action<double>? FlushObserver
    {
        get => _committer.Observer;
        set => _committer.Observer = value;
    }

    /// <summary>
    /// Opens (or creates) the store in <see cref="FasterStorageOptions.DataDirectory"/>, verifies the log past
    /// the recovered commit point and rebuilds the state from the address snapshot and the committed log.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and its range).</exception>
    /// <exception cref="IOException">Another process holds the directory.</exception>
    /// <exception cref="InvalidDataException">The log or the snapshot is damaged or inconsistent; the files are left for inspection.</exception>
    public static async Task<FasterStorage> OpenAsync(FasterStorageOptions options, TimeProvider time, ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        logger ??= NullLogger.Instance;
        var started = Stopwatch.GetTimestamp();

        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var logDirectory = FasterLogSetup.LogDirectory(dataDirectory);
        Directory.CreateDirectory(logDirectory);
        var lockFile = DataFolderLock.Acquire(dataDirectory);
        OpenLog? open = null;
        try
        {
            StorageFormat.CheckOrCreate(dataDirectory, logDirectory);
            File.Delete(Path.Combine(dataDirectory, AddressSnapshot.TempFileName)); // a snapshot write cut short

            open = await OpenLog.OpenVerifiedAsync(options, dataDirectory, lockFile, logger, ct);
            var (registry, snapshotAddress, replay) = Replay.Run(open.Log, dataDirectory);
            ct.ThrowIfCancellationRequested();

            var store = new FasterStorage(options, time, logger, dataDirectory, open, registry, snapshotAddress, replay);
            StorageLog.Opened(
                logger,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                registry.Count,
                snapshotAddress,
                replay.PendingMessages,
                replay.PendingBytes,
                replay.Records,
                open.Log.BeginAddress,
                open.Log.CommittedUntilAddress);
            return store;
        }
        catch
        {
            open?.DisposeLog();
            await DataFolderLock.ReleaseAsync(lockFile, dataDirectory);
            throw;
        }
    }

    public bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info)
    {
        _gate.ThrowIfClosed();
        return _registry.TryGetInfo(aid, out info);
    }

    public async ValueTask<DurabilityTicket> CreateAddressAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            return DurabilityTicket.At(await _registry.CreateAsync(aid, ownerPublicKey, expiresAtUnixSeconds, ct));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<RevokeStatus>> RevokeAsync(AddressId aid, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            var (status, record) = await _registry.RevokeAsync(aid, ct);
            return new(status, Ticket(record));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<AddressUpdateStatus>> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            var (status, record) = await _registry.RenewAsync(aid, expiresAtUnixSeconds, ct);
            return new(status, Ticket(record));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<AddressUpdateStatus>> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            var (status, record) = await _registry.SetPolicyAsync(aid, policy, ct);
            return new(status, Ticket(record));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<AddressUpdateStatus>> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            var (status, record) = await _registry.SetNotifyEndpointAsync(aid, endpoint, ct);
            return new(status, Ticket(record));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out MessageId id, out DurabilityTicket ticket)
    {
        _gate.Enter();
        try
        {
            var status = _ingest.TryAppend(aid, ciphertext, out var address);
            (id, ticket) = status == AppendStatus.Appended ? (new MessageId(address), DurabilityTicket.At(address)) : default;
            return status;
        }
        finally
        {
            _gate.Exit();
        }
    }

    public ValueTask<AppendResult> AppendAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default)
    {
        _gate.Enter();
        var handedOver = false;
        try
        {
            var status = _ingest.TryAppend(aid, ciphertext.Span, out var address);
            if (status != AppendStatus.Backpressure)
            {
                return new ValueTask<AppendResult>(Result(status, address));
            }

            handedOver = true; // the slow path owns the operation from here
            return AppendSlowAsync(aid, ciphertext, ct);
        }
        finally
        {
            if (!handedOver)
            {
                _gate.Exit();
            }
        }
    }

    public int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination)
    {
        _gate.ThrowIfClosed();
        return _reader.GetPending(aid, after, destination);
    }

    public async ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            return await _reader.ReadAsync(aid, message, destination, ct);
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<WriteResult<AckStatus>> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            var (status, record) = await _removal.AckAsync(aid, ids, _gate, ct);
            return new(status, Ticket(record));
        }
        finally
        {
            _gate.Exit();
        }
    }

    public async ValueTask<long> ExpireAsync(long receivedAtOrBeforeUnixMs, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            return await _removal.ExpireAsync(receivedAtOrBeforeUnixMs, ct);
        }
        finally
        {
            _gate.Exit();
        }
    }

    // Read directly on the reply path (every outbox item asks), not through the shared helper.
    public bool IsDurable(DurabilityTicket ticket) => ticket.Position < _log.CommittedUntil;

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => _durability.WaitDurableAsync(ticket, ct);

    public void RequestFlush() => _durability.RequestFlush();

    public Task FlushAsync() => _durability.FlushAsync();

    public StorageStatistics GetStatistics()
    {
        _gate.ThrowIfClosed();
        return new StorageStatistics(
            _registry.Count,
            _counters.PendingMessages,
            _counters.PendingBytes,
            _committer.Commits,
            _counters.MessagesExpired,
            _counters.MessagesMoved,
            _log.Mirror?.Hits ?? 0,
            _counters.DeviceReads,
            _log.Begin,
            _log.Tail,
            _log.CommittedUntil);
    }

    /// <summary>
    /// Runs one maintenance pass now (TTL sweep, compaction, snapshot if anything changed, then truncation),
    /// as the store does every <see cref="FasterStorageOptions.MaintenanceInterval"/>: for an operator who
    /// wants disk space back at once, and for tests.
    /// </summary>
    public async Task RunMaintenanceAsync()
    {
        _gate.Enter();
        try
        {
            await _maintenance.RunOnceAsync();
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>
    /// Stops accepting operations, waits for those in flight, runs a final maintenance pass (snapshot,
    /// truncation), commits everything appended, writes a snapshot covering the whole committed log (so that a
    /// log later cut short is refused, not silently shorter), then releases the log, the device and the directory lock.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        _gate.Close();
        try
        {
            await _gate.WaitForOperationsAsync();
            await _maintenance.DisposeAsync();
            try
            {
                await _maintenance.RunOnceAsync();
                await _committer.CommitAsync();
                await _maintenance.WriteFinalSnapshotAsync();
            }
            catch (Exception ex)
            {
                // Closing must release the log and the directory whatever happened; what was not committed
                // was never acknowledged to anyone.
                StorageLog.MaintenanceFailed(_logger, ex);
            }

            await _committer.StopAsync();
        }
        finally
        {
            var committed = _log.CommittedUntil;
            _fasterLog.Dispose();
            _commits.Dispose();
            _device.Dispose();
            _committer.Dispose();
            _maintenance.Release();
            await DataFolderLock.ReleaseAsync(_lockFile, DataDirectory);
            StorageLog.Closed(_logger, committed, _committer.Commits);
        }
    }

    internal static AppendResult Result(AppendStatus status, long address) =>
        status == AppendStatus.Appended ? new AppendResult(status, new MessageId(address), DurabilityTicket.At(address)) : new AppendResult(status, default, default);

    private static DurabilityTicket Ticket(long record) => record == 0 ? DurabilityTicket.None : DurabilityTicket.At(record);

    private async ValueTask<AppendResult> AppendSlowAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct)
    {
        try
        {
            return await _ingest.AppendWhenLogHasSpaceAsync(aid, ciphertext, _gate, ct);
        }
        finally
        {
            _gate.Exit();
        }
    }
}
