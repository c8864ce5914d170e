using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>The outbound queue's log events (ids 2100-2199).</summary>
internal static partial class OutboundLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Outbound queue opened in '{Directory}': {Queued} messages queued, {Settled} settled statuses retained, log from {BeginAddress} to {CommittedUntilAddress}")]
    public static partial void Opened(ILogger logger, string directory, int queued, int settled, long beginAddress, long committedUntilAddress);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "Outbound queue maintenance: {Forgotten} statuses past retention forgotten, {Carried} live records carried forward, head moved from {OldBeginAddress} to {NewBeginAddress}")]
    public static partial void Maintained(ILogger logger, int forgotten, int carried, long oldBeginAddress, long newBeginAddress);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Outbound queue closed: log committed until {CommittedUntilAddress}")]
    public static partial void Closed(ILogger logger, long committedUntilAddress);
}
