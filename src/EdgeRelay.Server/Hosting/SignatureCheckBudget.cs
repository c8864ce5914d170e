using EdgeRelay.Addressing;

namespace EdgeRelay.Server;

/// <summary>
/// The whole relay's budget of signature checks (<see cref="LimitsOptions.SignatureChecksPerSecond"/>): one
/// token bucket that every connection's AUTH claims and REVOKE_ADDRESS requests draw from after their own
/// connection's bucket, so that a flood spread over many connections still costs the relay a bounded share of
/// its CPU, as the shared budget of anonymous resolution misses does for HPKE opens.
/// </summary>
/// <remarks>
/// The bucket is the integer token bucket of the miss budget under a lock: a take is a few arithmetic
/// operations, far below the Ed25519 verification it pays for. When a reload replaces the limits (noticed by
/// reference, as the sessions do) the bucket restarts full.
/// </remarks>
public sealed class SignatureCheckBudget(TimeProvider time)
{
    private readonly Lock _gate = new();
    private MissRateLimiter _bucket;
    private LimitsOptions? _limits;

    /// <summary>Takes <paramref name="checks"/> tokens under <paramref name="limits"/>, all or none; true when the relay has no limit.</summary>
    public bool TryTake(LimitsOptions limits, int checks)
    {
        if (limits.SignatureChecksPerSecond == 0)
        {
            return true;
        }

        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (!ReferenceEquals(limits, _limits))
            {
                _limits = limits;
                _bucket = new MissRateLimiter(limits.SignatureChecksPerSecond, limits.SignatureCheckBurst, time.TimestampFrequency, now);
            }

            return _bucket.TryAcquire(now, checks);
        }
    }
}
