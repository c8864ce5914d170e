using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.JetStream;

/// <summary>The JetStream backend's log events (stable ids, 2200-2299; the FASTER backend has 2000-2099, its outbound queue 2100-2199).</summary>
internal static partial class JetStreamLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Information,
        Message = "JetStream storage open: {Addresses} addresses, {Pending} pending messages in {Partitions} partition(s), R{Replicas}, streams {Prefix}-*")]
    public static partial void Opened(ILogger logger, int addresses, long pending, int partitions, int replicas, string prefix);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "A JetStream write round of {Count} records failed; the store stops making writes durable")]
    public static partial void RoundFailed(ILogger logger, int count, Exception error);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Following stream {Stream} failed")]
    public static partial void FollowerFailed(ILogger logger, string stream, Exception error);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Expired {Count} messages older than the TTL")]
    public static partial void Expired(ILogger logger, long count);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "A maintenance pass failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Debug, Message = "Publish to {Subject} failed, retrying")]
    public static partial void PublishRetry(ILogger logger, string subject, Exception error);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Debug, Message = "Could not delete record {Seq} of stream {Stream}")]
    public static partial void DeleteFailed(ILogger logger, ulong seq, string stream, Exception error);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Warning, Message = "A presence write to {Subject} failed; the next heartbeat tries again (while this node's heartbeats fail, it pushes nothing)")]
    public static partial void PresenceWriteFailed(ILogger logger, string subject, Exception error);

    [LoggerMessage(EventId = 2208, Level = LogLevel.Information, Message = "Took over the push of address {Address}: the node that held it stopped beating")]
    public static partial void LeaseTakenOver(ILogger logger, string address);

    [LoggerMessage(EventId = 2209, Level = LogLevel.Warning, Message = "The cluster did not answer {What} ({Reason}); asking again")]
    public static partial void StartRetry(ILogger logger, string what, string reason);

    [LoggerMessage(EventId = 2210, Level = LogLevel.Warning, Message = "Could not catch up with the stream of address {Address} before pushing it; pushing what this node has")]
    public static partial void CatchUpFailed(ILogger logger, string address, Exception error);

    [LoggerMessage(EventId = 2211, Level = LogLevel.Debug, Message = "Took the push of address {Address} from live node {Node}: the owner subscribed here after subscribing there")]
    public static partial void LeaseTakenFromLive(ILogger logger, string address, long node);

    [LoggerMessage(EventId = 2212, Level = LogLevel.Warning, Message = "Skipped presence record {Seq} ({Length} bytes, kind {Kind}), unknown to this version (a newer relay's, or damaged); later ones of its kind are skipped silently")]
    public static partial void PresenceRecordSkipped(ILogger logger, ulong seq, int length, int kind);

    [LoggerMessage(EventId = 2213, Level = LogLevel.Error, Message = "The push hub failed on a lease change of address {Address}; the presence table goes on")]
    public static partial void PresenceCallbackFailed(ILogger logger, string address, Exception error);

    [LoggerMessage(EventId = 2214, Level = LogLevel.Information,
        Message = "JetStream outbound queue open: {Queued} queued, {Settled} settled statuses retained, stream {Stream}")]
    public static partial void OutboundOpened(ILogger logger, long queued, int settled, string stream);

    [LoggerMessage(EventId = 2215, Level = LogLevel.Warning, Message = "Skipped outbound record {Seq} ({Length} bytes, kind {Kind}), unknown to this version (a newer relay's, or damaged)")]
    public static partial void OutboundRecordSkipped(ILogger logger, ulong seq, int length, int kind);

    [LoggerMessage(EventId = 2216, Level = LogLevel.Information, Message = "Adopted the outbound messages node {Node} queued: it stopped beating, and this node forwards them now")]
    public static partial void DispatchAdopted(ILogger logger, long node);

    [LoggerMessage(EventId = 2217, Level = LogLevel.Error, Message = "The forwarding engine failed on an outbound queue callback; the queue goes on")]
    public static partial void OutboundCallbackFailed(ILogger logger, Exception error);
}
