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

    // The connection's share of signature checks (Limits:SignatureChecksPerSecondPerConnection), then the whole
    // relay's (Limits:SignatureChecksPerSecond). An AUTH pays for all of its claims at once, before the first is
    // verified, so a refused one costs no Ed25519 work; a refusal by the relay's budget gives the connection its
    // tokens back. Same bucket and reload rule as the SEND rate.
    private MissRateLimiter _verifyBucket;
    private LimitsOptions? _verifyLimits;

    /// <summary>
    /// Takes <paramref name="checks"/> signature checks from this connection's budget, then the relay's: true when
    /// both had them; otherwise false, nothing taken, and <paramref name="byConnection"/> says whose budget refused.
    /// </summary>
    private bool TryTakeSignatureChecks(int checks, out bool byConnection)
    {
        var limits = _server.Limits;
        byConnection = false;
        if (limits.SignatureChecksPerSecondPerConnection != 0)
        {
            var now = _server.Time.GetTimestamp();
            if (!ReferenceEquals(limits, _verifyLimits))
            {
                _verifyLimits = limits;
                _verifyBucket = new MissRateLimiter(limits.SignatureChecksPerSecondPerConnection, limits.SignatureCheckBurstPerConnection, _server.Time.TimestampFrequency, now);
            }

            if (!_verifyBucket.TryAcquire(now, checks))
            {
                byConnection = true;
                _server.Metrics.SignatureChecksRefused(connectionBudget: true, checks);
                return false;
            }
        }

        if (!_server.SignatureChecks.TryTake(limits, checks))
        {
            if (limits.SignatureChecksPerSecondPerConnection != 0)
            {
                _verifyBucket.Refund(checks);
            }

            _server.Metrics.SignatureChecksRefused(connectionBudget: false, checks);
            return false;
        }

        _server.Metrics.SignatureChecks.Inc(checks);
        return true;
    }

    private ValueTask RefuseSignatureChecks(uint requestId, bool byConnection) =>
        Fail(requestId, ErrorCode.VerifyRateLimited, byConnection
            ? "this connection's budget of signature checks is used up; slow down"
            : "the relay's budget of signature checks is used up; retry later");

    private ValueTask RefuseSendRate(uint requestId)
    {
        _server.Metrics.SendsRateLimited.Inc();
        return Fail(requestId, ErrorCode.SendRateLimited, "this connection's SEND rate is used up; slow down");
    }
}
