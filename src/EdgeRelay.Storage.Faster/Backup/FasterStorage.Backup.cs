namespace EdgeRelay.Storage.Faster;

public sealed partial class FasterStorage
{
    /// <summary>
    /// A consistent copy of the store while it runs: waits for a maintenance pass in progress and holds off the
    /// next ones (truncation deletes segments, compaction and the snapshot rewrite files), commits, and lists the
    /// log cut at that commit point (<see cref="LogBackup"/>), the address snapshot and the format marker.
    /// </summary>
    /// <remarks>
    /// The snapshot on disk covers an address at or below the commit point: it only ever reflects committed
    /// records, and no pass writes a newer one until the set is disposed. Closing the store waits for the set's
    /// disposal, as for any operation in flight.
    /// </remarks>
    public async Task<BackupSet> BeginBackupAsync(CancellationToken ct = default)
    {
        _gate.Enter();
        var paused = false;
        try
        {
            await _maintenance.PauseAsync(ct);
            paused = true;
            var (point, files) = await LogBackup.CaptureAsync(_fasterLog, _committer, DataDirectory, _pageSizeBits, _segmentSizeBits, ct);
            files.Insert(0, LogBackup.WholeFile(DataDirectory, StorageFormat.FileName));
            if (LogBackup.FileIfExists(DataDirectory, AddressSnapshot.FileName) is { } snapshot)
            {
                files.Insert(1, snapshot);
            }

            StorageLog.BackupStarted(_logger, point.BeginAddress, point.CommittedUntil, files.Count);
            return new BackupSet(StorageFormat.Current, files, [point], EndBackup);
        }
        catch
        {
            if (paused)
            {
                _maintenance.Resume();
            }

            _gate.Exit();
            throw;
        }
    }

    private ValueTask EndBackup()
    {
        _maintenance.Resume();
        _gate.Exit();
        return ValueTask.CompletedTask;
    }
}
