using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>The abuse limits' and the live reload's messages (1020s for connections, 3020s for the host).</summary>
internal static partial class RelayLog
{
    // Debug: a flood of refused connections must not become a flood of log lines; the metric counts them.
    [LoggerMessage(EventId = 1020, Level = LogLevel.Debug, Message = "Connection from {RemoteEndPoint} refused with CONNECTION_LIMIT ({Limit} limit).")]
    public static partial void ConnectionRefused(ILogger logger, string remoteEndPoint, string limit);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "TLS certificate reloaded from {Path}: same key, the pin stays {Pin}; new connections get the new certificate")]
    public static partial void TlsCertificateRenewed(ILogger logger, string path, string pin);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "TLS certificate reloaded from {Path} with a NEW KEY: the pin changed from {OldPin} to {NewPin}. Every card issued with the old pin no longer reaches this relay; senders holding those cards fail until their owners hand out new cards")]
    public static partial void TlsKeyChanged(ILogger logger, string path, string oldPin, string newPin);
}
