using Microsoft.Extensions.Logging;

namespace EdgeRelay.Attachments;

/// <summary>The store's log events (source-generated; ids are stable, 5000–5099 belong to attachments).</summary>
internal static partial class AttachmentLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information,
        Message = "Attachment store opened: {Attachments} attachments ({StoredBytes} bytes), {Uploads} uploads resumable, {Removed} leftover files removed")]
    public static partial void Opened(ILogger logger, int attachments, long storedBytes, int uploads, int removed);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Attachment {Id} expired ({Size} bytes removed)")]
    public static partial void AttachmentExpired(ILogger logger, string id, long size);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Upload {Upload} expired without progress at {Received} of {Size} bytes")]
    public static partial void UploadExpired(ILogger logger, string upload, long received, long size);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Could not delete {Path}: {Reason}; it is removed at the next start")]
    public static partial void DeleteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Debug, Message = "Attachment {Id} stored ({Size} bytes)")]
    public static partial void Stored(ILogger logger, string id, long size);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Upload {Upload} dropped at commit: its bytes do not have the declared SHA-256")]
    public static partial void DigestMismatch(ILogger logger, string upload);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Upload {Upload} not committed: the cluster did not store the attachment ({Reason}); the upload stays, to commit again")]
    public static partial void ReplicaPutFailed(ILogger logger, string upload, string reason);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "Attachment {Id} could not be read from the cluster: {Reason}")]
    public static partial void ReplicaReadFailed(ILogger logger, string id, string reason);
}
