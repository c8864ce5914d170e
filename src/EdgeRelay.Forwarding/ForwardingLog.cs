using Microsoft.Extensions.Logging;

namespace EdgeRelay.Forwarding;

/// <summary>The forwarding engine's log events (ids 4000-4099).</summary>
internal static partial class ForwardingLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Forwarding started: {Queued} queued messages to {Destinations} destinations")]
    public static partial void Started(ILogger logger, int queued, int destinations);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Forwarding to {Destination} failed ({Failures} in a row, code {Code}): {Reason}; next try in {Delay}")]
    public static partial void DestinationFailing(ILogger logger, string destination, int failures, ushort code, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Forwarding to {Destination} works again after {Failures} failures")]
    public static partial void DestinationRecovered(ILogger logger, string destination, int failures);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Send {SendId} to {Destination} failed for good with code {Code}")]
    public static partial void SendFailed(ILogger logger, long sendId, string destination, ushort code);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Forwarding worker for {Destination} faulted; it restarts at the next message")]
    public static partial void WorkerFaulted(ILogger logger, Exception exception, string destination);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Forwarding stopped: {Queued} messages stay queued")]
    public static partial void Stopped(ILogger logger, long queued);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Forwarding {Count} queued messages adopted from a node of this service that died")]
    public static partial void Adopted(ILogger logger, int count);
}
