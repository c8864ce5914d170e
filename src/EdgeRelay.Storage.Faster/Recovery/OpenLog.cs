using FASTER.core;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// What an open FASTER log is made of (device, commit manager, log), released together when the open fails;
/// and the open itself: FASTER's recovery, then <see cref="LogVerifier"/> past the commit point.
/// </summary>
internal sealed class OpenLog
{
    private OpenLog(FileStream lockFile, IDevice device, DeviceLogCommitCheckpointManager commits, FasterLog log)
    {
        LockFile = lockFile;
        Device = device;
        Commits = commits;
        Log = log;
    }

    public FileStream LockFile { get; }

    public IDevice Device { get; }

    public DeviceLogCommitCheckpointManager Commits { get; }

    public FasterLog Log { get; }

    /// <summary>
    /// Opens FASTER (which recovers to its last readable commit), then verifies the log past that point
    /// (<see cref="LogVerifier"/>). On evidence of lost commits: refuses, or with
    /// <see cref="FasterStorageOptions.TruncateDamagedLog"/> erases everything past the commit point, logs
    /// what it dropped, and opens again.
    /// </summary>
    public static async Task<OpenLog> OpenVerifiedAsync(FasterStorageOptions options, string dataDirectory, FileStream lockFile, ILogger logger, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var open = await OpenLog.CreateAsync(options, dataDirectory, lockFile, ct);
            LogTailReport report;
            try
            {
                report = LogVerifier.Scan(dataDirectory, options.PageSizeBits, options.SegmentSizeBits, open.Log.BeginAddress, open.Log.CommittedUntilAddress);
            }
            catch
            {
                open.DisposeLog();
                throw;
            }

            if (report.IsClean)
            {
                if (report.HasTail)
                {
                    // Never committed, so never acknowledged; zeroed so that the next crash's tail is only this run's.
                    StorageLog.UncommittedTailDropped(logger, report.UncommittedEntries, report.TornAt, report.CommitsBeyond, report.CommittedUntil, report.DataEnd);
                    LogVerifier.Erase(dataDirectory, options.SegmentSizeBits, report.CommittedUntil, report.DataEnd);
                }

                return open;
            }

            open.DisposeLog();
            if (!options.TruncateDamagedLog || !report.CanTruncate || attempt > 1)
            {
                throw new InvalidDataException(report.Describe(dataDirectory));
            }

            StorageLog.DamagedLogTruncated(logger, dataDirectory, report.CommittedUntil, report.DataEnd, Math.Max(report.DamageBeyondAt, report.ProvenCommitBeyond), report.Damage ?? "an unreached commit", report.CommitsBeyond, report.UncommittedEntries);
            LogVerifier.Erase(dataDirectory, options.SegmentSizeBits, report.CommittedUntil, report.DataEnd);
        }
    }

    public static async Task<OpenLog> CreateAsync(FasterStorageOptions options, string dataDirectory, FileStream lockFile, CancellationToken ct)
    {
        var logDirectory = FasterLogSetup.LogDirectory(dataDirectory);
        var device = options.CreateLogDevice?.Invoke(FasterLogSetup.SegmentPathPrefix(dataDirectory)) ?? FasterLogSetup.CreateDevice(dataDirectory);
        DeviceLogCommitCheckpointManager? commits = null;
        try
        {
            commits = FasterLogSetup.CreateCommitManager(logDirectory);
            using var settings = FasterLogSetup.CreateSettings(device, commits, logDirectory, options.PageSizeBits, options.MemorySizeBits, options.SegmentSizeBits);
            FasterLog log;
            try
            {
                log = await FasterLog.CreateAsync(settings, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidDataException($"The relay log in '{dataDirectory}' could not be recovered: {ex.Message} Nothing was changed on disk; check the device, or restore the folder from a backup.", ex);
            }

            return new OpenLog(lockFile, device, commits, log);
        }
        catch
        {
            commits?.Dispose();
            device.Dispose();
            throw;
        }
    }

    public void DisposeLog()
    {
        Log.Dispose();
        Commits.Dispose();
        Device.Dispose();
    }
}
