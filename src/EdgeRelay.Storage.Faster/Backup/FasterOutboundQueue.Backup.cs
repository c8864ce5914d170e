namespace EdgeRelay.Storage.Faster;

public sealed partial class FasterOutboundQueue
{
    /// <summary>
    /// A consistent copy of the queue while it runs, as <see cref="FasterStorage.BeginBackupAsync"/> does for the
    /// message log: maintenance (which carries records forward and truncates) waits until the set is disposed;
    /// the set holds the format marker and the log cut at a commit taken now. Paths are relative to the
    /// queue's folder.
    /// </summary>
    public async Task<BackupSet> BeginBackupAsync(CancellationToken ct = default)
    {
        _gate.Enter();
        var paused = false;
        try
        {
            await _maintenanceLock.WaitAsync(ct);
            paused = true;
            var directory = Path.GetFullPath(_options.Directory);
            var (point, files) = await LogBackup.CaptureAsync(_open.Log, _committer, directory, _options.PageSizeBits, _options.SegmentSizeBits, ct);
            files.Insert(0, LogBackup.WholeFile(directory, FormatFileName));
            return new BackupSet(Format, files, [point], EndBackup);
        }
        catch
        {
            if (paused)
            {
                _maintenanceLock.Release();
            }

            _gate.Exit();
            throw;
        }
    }

    private ValueTask EndBackup()
    {
        _maintenanceLock.Release();
        _gate.Exit();
        return ValueTask.CompletedTask;
    }
}
