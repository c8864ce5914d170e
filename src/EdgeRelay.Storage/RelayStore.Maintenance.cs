namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    private readonly PeriodicTimer _maintenanceTimer;
    private readonly Task _maintenanceLoop;
    private readonly SemaphoreSlim _maintenanceGate = new(1, 1);

    // Covered address of the snapshot on disk (0: none yet). Only maintenance writes it, under the gate.
    private long _snapshotCoveredAddress;

    // Bumped under _registryLock by every address record; the snapshot on disk reflects this version.
    private long _registryVersion;
    private long _snapshotRegistryVersion = -1;

    /// <summary>Test hook: runs one maintenance pass now (TTL sweep, compaction, snapshot if anything changed, then truncation).</summary>
    internal async Task RunMaintenanceAsync()
    {
        ThrowIfClosed();
        await MaintainAsync();
    }

    /// <summary>Test hook: appends a raw record, e.g. of a kind recovery must refuse.</summary>
    internal long AppendRawRecordForTesting(ReadOnlySpan<byte> record)
    {
        EnterOperation();
        try
        {
            return TryEnqueue(record, out var address) ? address : throw new InvalidOperationException("The log buffer is full.");
        }
        finally
        {
            ExitOperation();
        }
    }

    private async Task MaintenanceLoopAsync()
    {
        while (await _maintenanceTimer.WaitForNextTickAsync())
        {
            try
            {
                await MaintainAsync();
            }
            catch (Exception ex)
            {
                // A failed pass (disk full, failed commit) is retried at the next tick; letting it end
                // the loop would stop truncation for good, and fault DisposeAsync.
                StorageLog.MaintenanceFailed(_logger, ex);
            }
        }
    }

    /// <summary>
    /// Drops messages past their TTL, copies sparse live messages out of the old part of the log
    /// (compaction), writes the address snapshot, then truncates the log head past everything that is
    /// consumed: <c>min(snapshot's covered address, lowest location of a pending message, tail)</c>.
    /// </summary>
    /// <remarks>
    /// Why that bound is safe: below the covered address every address record is in the durable
    /// snapshot; below the lowest pending location every message is acked, expired or copied forward
    /// (and the copy committed), so their ack records are no longer needed either (an ack always follows
    /// the messages it names). FASTER deletes only whole segment
    /// files below the new head, after the commit that persists it.
    /// </remarks>
    private async Task MaintainAsync()
    {
        await _maintenanceGate.WaitAsync();
        try
        {
            await SweepExpiredAsync();
            await CompactAsync();
            await WriteSnapshotIfChangedAsync();
            await TruncateAsync();
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    private async Task WriteSnapshotIfChangedAsync()
    {
        long covered;
        long version;
        AddressInfo[] addresses;
        lock (_registryLock)
        {
            // Address records are appended under this lock, so every one below the tail read here is
            // in the registry copied here, and every later one lands at or above it.
            covered = _log.TailAddress;
            if (covered == _snapshotCoveredAddress)
            {
                return; // nothing at all was appended since the last snapshot
            }

            // No address changed: a newer snapshot would only move its coverage, which matters when it
            // lets truncation drop another whole segment. (Commits alone move the tail: their metadata
            // is written into the log in fast-commit mode.)
            if (_registryVersion == _snapshotRegistryVersion
                && covered >> _segmentSizeBits == _snapshotCoveredAddress >> _segmentSizeBits)
            {
                return;
            }

            version = _registryVersion;

            addresses = new AddressInfo[_registry.Count];
            var i = 0;
            foreach (var pair in _registry)
            {
                addresses[i++] = pair.Value.Info;
            }
        }

        // The snapshot may reflect only committed records: after a crash the log comes back at its
        // last commit, and an address the snapshot knew but the log lost would be a phantom.
        if (covered > CommittedUntilAddress)
        {
            await _committer.CommitAsync();
        }

        var bytes = AddressSnapshot.Write(_dataDirectory, covered, addresses);
        Volatile.Write(ref _snapshotCoveredAddress, covered);
        _snapshotRegistryVersion = version;
        StorageLog.SnapshotWritten(_logger, addresses.Length, covered, bytes);
    }

    private async Task TruncateAsync()
    {
        var covered = Volatile.Read(ref _snapshotCoveredAddress);
        if (covered == 0)
        {
            return;
        }

        // Read the tail before scanning: a message appended during the scan has an id at or above it.
        var lowest = _log.TailAddress;
        foreach (var pair in _registry)
        {
            var entry = pair.Value;
            lock (entry.Gate)
            {
                lowest = Math.Min(lowest, entry.Pending.LowestLocation);
                entry.Pending.TrimExcess();
            }
        }

        var target = Math.Min(covered, lowest);
        var begin = _log.BeginAddress;
        if (target <= begin)
        {
            return;
        }

        _log.TruncateUntil(target);
        await _committer.CommitAsync();
        StorageLog.Truncated(_logger, begin, target);
    }
}
