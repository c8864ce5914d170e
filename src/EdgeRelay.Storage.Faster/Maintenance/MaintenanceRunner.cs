using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The store's housekeeping, every <see cref="FasterStorageOptions.MaintenanceInterval"/> of its clock: drop
/// messages past their TTL, compact, write the address snapshot, then truncate the log head past
/// everything consumed. One pass at a time.
/// </summary>
/// <remarks>
/// Why the truncation bound <c>min(snapshot's covered address, lowest location of a pending message, tail)</c>
/// is safe: below the covered address every address record is in the durable snapshot; below the lowest
/// pending location every message is acked, expired or copied forward (and the copy committed), so their
/// ack records are no longer needed either (an ack always follows the messages it names). FASTER deletes
/// only whole segment files below the new head, after the commit that persists it.
/// </remarks>
internal sealed class MaintenanceRunner : IAsyncDisposable
{
    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly MessageRemoval _removal;
    private readonly Compactor _compactor;
    private readonly SnapshotWriter _snapshot;
    private readonly Action<long> _truncateUntil;
    private readonly TimeProvider _time;
    private readonly long _messageTtlMs;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _passGate = new(1, 1);
    private readonly PeriodicTimer _timer;
    private Task _loop = Task.CompletedTask;

    public MaintenanceRunner(
        AddressTable registry,
        LogWriter log,
        MessageRemoval removal,
        Compactor compactor,
        SnapshotWriter snapshot,
        Action<long> truncateUntil,
        TimeProvider time,
        FasterStorageOptions options,
        ILogger logger)
    {
        _registry = registry;
        _log = log;
        _removal = removal;
        _compactor = compactor;
        _snapshot = snapshot;
        _truncateUntil = truncateUntil;
        _time = time;
        _messageTtlMs = (long)options.MessageTtl.TotalMilliseconds;
        _logger = logger;
        _timer = new PeriodicTimer(options.MaintenanceInterval, time);
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    /// <summary>One pass now: TTL sweep, compaction, snapshot if anything changed, truncation.</summary>
    public async Task RunOnceAsync()
    {
        await _passGate.WaitAsync();
        try
        {
            await _removal.ExpireAsync(_time.GetUtcNow().ToUnixTimeMilliseconds() - _messageTtlMs, CancellationToken.None);
            await _compactor.CompactAsync();
            await _snapshot.WriteIfChangedAsync();
            await TruncateAsync();
        }
        finally
        {
            _passGate.Release();
        }
    }

    /// <summary>The close's last step, after its last commit: a snapshot covering the whole committed log (see <see cref="SnapshotWriter.WriteFinalAsync"/>).</summary>
    public async Task WriteFinalSnapshotAsync()
    {
        await _passGate.WaitAsync();
        try
        {
            await _snapshot.WriteFinalAsync();
        }
        finally
        {
            _passGate.Release();
        }
    }

    /// <summary>
    /// Waits for a pass in progress and holds off every later one (timer or <see cref="RunOnceAsync"/>) until
    /// <see cref="Resume"/>: while a backup reads the log's segments and the snapshot, nothing may truncate,
    /// compact or rewrite them.
    /// </summary>
    public Task PauseAsync(CancellationToken ct) => _passGate.WaitAsync(ct);

    public void Resume() => _passGate.Release();

    /// <summary>Stops the timer and waits for a pass in progress; the store's close runs a final pass itself.</summary>
    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _loop;
    }

    /// <summary>Frees the pass gate once nothing can run a pass any more.</summary>
    public void Release() => _passGate.Dispose();

    private async Task LoopAsync()
    {
        while (await _timer.WaitForNextTickAsync())
        {
            try
            {
                await RunOnceAsync();
            }
            catch (Exception ex)
            {
                // A failed pass (disk full, failed commit) is retried at the next tick; letting it end the
                // loop would stop truncation for good, and fault the store's close.
                StorageLog.MaintenanceFailed(_logger, ex);
            }
        }
    }

    private async Task TruncateAsync()
    {
        var covered = _snapshot.CoveredAddress;
        if (covered == 0)
        {
            return;
        }

        // Read the tail before scanning: a message appended during the scan has an id at or above it.
        var lowest = _log.Tail;
        foreach (var pair in _registry.Entries)
        {
            var entry = pair.Value;
            lock (entry.Gate)
            {
                lowest = Math.Min(lowest, entry.Pending.LowestLocation);
                entry.Pending.TrimExcess();
            }
        }

        var target = Math.Min(covered, lowest);
        var begin = _log.Begin;
        if (target <= begin)
        {
            return;
        }

        _truncateUntil(target);
        await _log.Committer.CommitAsync();
        StorageLog.Truncated(_logger, begin, target);
    }
}
