using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>Source-generated log messages with stable event ids (1xxx sessions, 3xxx host; 2xxx belong to the store).</summary>
internal static partial class RelayLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed.")]
    public static partial void SessionFault(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed after the {Kind} time-out.")]
    public static partial void ConnectionTimedOut(ILogger logger, string connectionId, string kind);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Connection {ConnectionId} created an address expiring at {ExpiresAt} (unix s).")]
    public static partial void AddressCreated(ILogger logger, string connectionId, long expiresAt);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Push delivery of an address failed; its messages stay pending for the next subscription or pull.")]
    public static partial void PushFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "EdgeRelay relay endpoint listening on {Endpoint}")]
    public static partial void RelayListening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "EdgeRelay HTTP endpoint listening on {Endpoint}")]
    public static partial void HttpListening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "EdgeRelay draining {Connections} connections for shutdown")]
    public static partial void Draining(ILogger logger, int connections);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "EdgeRelay stopped; log committed until {CommittedUntil}")]
    public static partial void Stopped(ILogger logger, long committedUntil);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "EdgeRelay relay endpoint speaks TLS; clients pin the key by SHA-256 {Pin}")]
    public static partial void TlsPin(ILogger logger, string pin);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "The token file {Path} could not be read; the tokens stay as they were")]
    public static partial void TokenFileUnreadable(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "EdgeRelay sending service: {Tokens} valid access tokens in {Path}")]
    public static partial void TokensLoaded(ILogger logger, int tokens, string path);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Configuration reloaded: {Options} now apply (configuration version {Version}); connected RMs were sent CONFIG")]
    public static partial void ReloadApplied(ILogger logger, string options, uint version);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Configuration reloaded: {Options} changed but apply only after a restart; left as they were")]
    public static partial void ReloadNeedsRestart(ILogger logger, string options);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Configuration reload refused, nothing changed: {Problems}")]
    public static partial void ReloadRefused(ILogger logger, string problems);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Critical, Message = "The relay's storage failed and cannot commit again while it runs ({Reason}); nothing is acknowledged from now on. Stopping with exit code 8: a restart recovers every acknowledged message (free disk space first if the disk is full)")]
    public static partial void StorageFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Attachments:PublicBaseUrl is not set: attachment URLs name this node's HTTP endpoint ({Endpoint}), unreachable once this node is lost although every node serves them; set it to a name that reaches every node (a load balancer, or DNS with fail-over)")]
    public static partial void AttachmentUrlsNameOneNode(ILogger logger, string endpoint);
}
