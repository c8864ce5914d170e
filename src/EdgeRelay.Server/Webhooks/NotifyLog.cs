using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server.Webhooks;

/// <summary>
/// Source-generated log messages of the wake-up notifier, event ids 4xxx. An endpoint appears only as its
/// origin (scheme, host, port): the rest of a UnifiedPush URL is the capability to push to the app.
/// </summary>
internal static partial class NotifyLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Wake-up delivered to {Origin} after {Attempts} attempt(s).")]
    public static partial void Delivered(ILogger logger, string origin, int attempts);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Wake-up to {Origin} failed ({Reason}); attempt {Attempt} of {MaxAttempts} in {DelayMs} ms.")]
    public static partial void Retrying(ILogger logger, string origin, string reason, int attempt, int maxAttempts, long delayMs);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Wake-up to {Origin} abandoned after {Attempts} attempt(s): {Reason}.")]
    public static partial void GaveUp(ILogger logger, string origin, int attempts, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "{Pending} wake-ups are pending, the Notify:MaxQueue limit: new ones are dropped until some complete.")]
    public static partial void QueueFull(ILogger logger, int pending);
}
