using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>The store's log events (source-generated; ids are stable, 2000–2099 belong to storage).</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information,
        Message = "Relay store opened in {ElapsedMs} ms: {Addresses} addresses (snapshot covered until {SnapshotAddress}), {Pending} pending messages ({PendingBytes} bytes), {Records} log records replayed from {BeginAddress} to {CommittedUntilAddress}")]
    public static partial void Opened(ILogger logger, long elapsedMs, int addresses, long snapshotAddress, long pending, long pendingBytes, long records, long beginAddress, long committedUntilAddress);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Relay log commit failed")]
    public static partial void CommitFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Address snapshot written: {Addresses} addresses, covers log until {CoveredAddress}, {Bytes} bytes")]
    public static partial void SnapshotWritten(ILogger logger, int addresses, long coveredAddress, long bytes);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Relay log truncated from {OldBeginAddress} to {NewBeginAddress}")]
    public static partial void Truncated(ILogger logger, long oldBeginAddress, long newBeginAddress);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Relay store maintenance (snapshot, truncation) failed; retrying at the next interval")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Relay store closed: log committed until {CommittedUntilAddress}, {Commits} commits")]
    public static partial void Closed(ILogger logger, long committedUntilAddress, long commits);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Retention sweep dropped {Count} messages received before {CutoffUnixMs} (message TTL)")]
    public static partial void MessagesExpired(ILogger logger, long count, long cutoffUnixMs);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Compaction copied {Count} live messages ({Bytes} bytes) forward from the log region [{RegionBegin}, {RegionEnd})")]
    public static partial void MessagesMoved(ILogger logger, int count, long bytes, long regionBegin, long regionEnd);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Recovery dropped the log past the last commit at {CommittedUntilAddress} (to {DataEnd}): {Entries} complete entries, a write cut short at {TornAt} (-1: none), {Commits} commit records of an interrupted flush. None of it was committed, so none was acknowledged")]
    public static partial void UncommittedTailDropped(ILogger logger, int entries, long tornAt, int commits, long committedUntilAddress, long dataEnd);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Storage:TruncateDamagedLog: dropped the relay log of '{DataDirectory}' from {CommittedUntilAddress} to {DataEnd} (first damage at {DamageAt}: {Damage}; {Commits} commit records and {Entries} entries past the commit point). Messages and address changes acknowledged there are lost")]
    public static partial void DamagedLogTruncated(ILogger logger, string dataDirectory, long committedUntilAddress, long dataEnd, long damageAt, string damage, int commits, int entries);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Backup of the relay log started at its commit point {CommittedUntilAddress} (log begins at {BeginAddress}, {Files} files); maintenance waits until it ends")]
    public static partial void BackupStarted(ILogger logger, long beginAddress, long committedUntilAddress, int files);
}
