using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>The online backup's log events (source-generated; ids 3200–3219 belong to backups).</summary>
internal static partial class BackupLog
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Backup requested by {Actor}: message log at commit point {CommitPoint}, {Files} files; storage maintenance waits until it is sent")]
    public static partial void Started(ILogger logger, string actor, long commitPoint, int files);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Backup sent to {Actor}: {Files} files, {Bytes} bytes, commit point {CommitPoint}")]
    public static partial void Sent(ILogger logger, string actor, int files, long bytes, long commitPoint);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Backup for {Actor} ended early: {Reason}")]
    public static partial void Failed(ILogger logger, string actor, string reason);
}
