using EdgeRelay.Addressing;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

public sealed partial class RelaySession
{
    // The connection's SEND rate (Limits:SendsPerSecondPerConnection). Every SEND frame takes a token before
    // anything else is looked at, so a refused one costs no resolution and stores nothing. The bucket is the
    // integer token bucket of the miss budget (a struct in this session: no allocation, no lock); it is rebuilt,
    // full, when a reload replaces the limits, which the session notices by reference at its next SEND.
    private MissRateLimiter _sendBucket;
    private LimitsOptions? _sendLimits;

    /// <summary>Takes one of this connection's SEND tokens; false when the rate is used up. Allocation-free.</summary>
    private bool TryTakeSendToken()
    {
        var limits = _server.Limits;
        if (limits.SendsPerSecondPerConnection == 0)
        {
            return true;
        }

        var now = _server.Time.GetTimestamp();
        if (!ReferenceEquals(limits, _sendLimits))
        {
            _sendLimits = limits;
            _sendBucket = new MissRateLimiter(limits.SendsPerSecondPerConnection, limits.SendBurstPerConnection, _server.Time.TimestampFrequency, now);
        }

        return _sendBucket.TryAcquire(now);
    }

    private ValueTask RefuseSendRate(uint requestId)
    {
        _server.Metrics.SendsRateLimited.Inc();
        return Fail(requestId, ErrorCode.SendRateLimited, "this connection's SEND rate is used up; slow down");
    }
}
