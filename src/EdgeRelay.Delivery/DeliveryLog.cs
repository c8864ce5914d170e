using Microsoft.Extensions.Logging;

namespace EdgeRelay.Delivery;

/// <summary>Source-generated log messages of push delivery (event ids 5xxx; 1004 is kept from when the session logged it).</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Push delivery of an address failed; its messages stay pending for the next subscription or pull.")]
    public static partial void PushFault(ILogger logger, Exception exception);
}
