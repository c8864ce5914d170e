namespace EdgeRelay.Forwarding;

/// <summary>The wait before the next try of a destination that keeps failing.</summary>
internal static class Backoff
{
    /// <summary>
    /// After <paramref name="failures"/> consecutive failures (1 or more): the initial back-off doubled per
    /// further failure, capped, then "equal jitter": a random point in its upper half. Half the range keeps
    /// a floor (a dead relay is not hammered), the other half spreads out relays that all saw the same peer
    /// go down at once, so they do not all reconnect in the same instant.
    /// </summary>
    /// <param name="random">A value in [0, 1).</param>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double random)
    {
        var exponent = Math.Min(failures - 1, 30);
        var ticks = Math.Min((double)max.Ticks, initial.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(Math.Round(((ticks / 2) + (ticks / 2 * random)) / TimeSpan.TicksPerMillisecond));
    }

    /// <summary>The range <see cref="Delay"/> draws from after <paramref name="failures"/> failures.</summary>
    public static (TimeSpan Min, TimeSpan Max) Range(int failures, TimeSpan initial, TimeSpan max) =>
        (Delay(failures, initial, max, 0), Delay(failures, initial, max, 1));
}
