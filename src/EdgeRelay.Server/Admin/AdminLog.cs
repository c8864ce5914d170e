using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// The audit log of the admin API (category EdgeRelay.Admin, event ids 6xxx): who did what to which target, and
/// how it ended. The actor is the remote address and the token's fingerprint, never the token.
/// </summary>
internal static partial class AdminLog
{
    public const string Category = "EdgeRelay.Admin";

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Admin {Action} of {Target} by {Remote} (token {Fingerprint}): {Outcome}")]
    public static partial void Action(ILogger logger, string action, string target, string remote, string fingerprint, string outcome);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Admin request {Method} {Path} from {Remote} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string method, string path, string remote, string reason);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Admin API enabled on the HTTP endpoint (token {Fingerprint})")]
    public static partial void Enabled(ILogger logger, string fingerprint);
}
