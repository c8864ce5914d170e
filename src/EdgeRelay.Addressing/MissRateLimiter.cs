namespace EdgeRelay.Addressing;

/// <summary>
/// A token bucket that bounds how many HPKE opens (address-cache misses) one connection may cause:
/// each open costs an X25519, and a client sending random addresses would otherwise turn the
/// relay's CPU against itself.
/// </summary>
/// <remarks>
/// A mutable struct owned by the connection's session and passed by <c>ref</c>: no allocation, no
/// sharing, no locking. Time is a caller-supplied timestamp (<see cref="System.Diagnostics.Stopwatch"/>
/// ticks or <see cref="TimeProvider.GetTimestamp"/>) so tests control it exactly. Arithmetic is in
/// integers: one token is <c>timestampFrequency</c> units, and each elapsed tick adds
/// <c>ratePerSecond</c> units, so no rounding drifts. A <c>default</c> instance never grants.
/// </remarks>
public struct MissRateLimiter
{
    private readonly long _unitsPerToken;
    private readonly long _unitsPerTick;
    private readonly long _capacityUnits;
    private readonly long _ticksToFill;
    private long _units;
    private long _lastTimestamp;

    /// <param name="ratePerSecond">Sustained opens per second, at least 1.</param>
    /// <param name="burst">Opens allowed back to back from a full bucket, at least 1; the bucket starts full.</param>
    /// <param name="timestampFrequency">Timestamp ticks per second (<see cref="System.Diagnostics.Stopwatch.Frequency"/>).</param>
    /// <param name="nowTimestamp">The current timestamp.</param>
    public MissRateLimiter(int ratePerSecond, int burst, long timestampFrequency, long nowTimestamp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ratePerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timestampFrequency, 1);
        _unitsPerToken = timestampFrequency;
        _unitsPerTick = ratePerSecond;
        _capacityUnits = checked(burst * timestampFrequency);
        // Beyond this many ticks the bucket is full anyway; clamping first keeps the product in range.
        _ticksToFill = (_capacityUnits + ratePerSecond - 1) / ratePerSecond;
        _units = _capacityUnits;
        _lastTimestamp = nowTimestamp;
    }

    /// <summary>Whole tokens left as of the last call (for diagnostics).</summary>
    public readonly long AvailableTokens => _unitsPerToken == 0 ? 0 : _units / _unitsPerToken;

    /// <summary>Takes one token if there is one. A timestamp earlier than the last one adds nothing.</summary>
    public bool TryAcquire(long nowTimestamp) => TryAcquire(nowTimestamp, 1);

    /// <summary>
    /// Takes <paramref name="tokens"/> tokens if there are that many, or none (a request is paid whole or refused
    /// whole). More than the burst never succeeds. A timestamp earlier than the last one adds nothing.
    /// </summary>
    public bool TryAcquire(long nowTimestamp, int tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        var elapsed = nowTimestamp - _lastTimestamp;
        if (elapsed > 0)
        {
            _lastTimestamp = nowTimestamp;
            _units = elapsed >= _ticksToFill
                ? _capacityUnits
                : Math.Min(_capacityUnits, _units + (elapsed * _unitsPerTick));
        }

        var cost = tokens * _unitsPerToken; // tokens <= int.MaxValue and a token is at most a few GHz of units: no overflow
        if (_unitsPerToken == 0 || _units < cost)
        {
            return false;
        }

        _units -= cost;
        return true;
    }

    /// <summary>Gives back the token of the last <see cref="TryAcquire(long)"/> when another budget refused the miss after all.</summary>
    internal void Refund() => Refund(1);

    /// <summary>Gives back <paramref name="tokens"/> taken by the last acquire when another budget refused the request after all.</summary>
    public void Refund(int tokens) => _units = Math.Min(_capacityUnits, _units + ((long)tokens * _unitsPerToken));
}
