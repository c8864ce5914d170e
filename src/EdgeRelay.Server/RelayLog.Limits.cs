using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>The abuse limits' messages (1020s for connections).</summary>
internal static partial class RelayLog
{
    // Debug: a flood of refused connections must not become a flood of log lines; the metric counts them.
    [LoggerMessage(EventId = 1020, Level = LogLevel.Debug, Message = "Connection from {RemoteEndPoint} refused with CONNECTION_LIMIT ({Limit} limit).")]
    public static partial void ConnectionRefused(ILogger logger, string remoteEndPoint, string limit);
}
