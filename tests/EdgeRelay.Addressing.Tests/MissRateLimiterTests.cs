namespace EdgeRelay.Addressing.Tests;

public class MissRateLimiterTests
{
    private const long Frequency = 1_000_000_000; // nanosecond ticks, like Stopwatch on Linux

    [Fact]
    public void Burst_then_refusal_then_refill_at_the_rate()
    {
        var limiter = new MissRateLimiter(ratePerSecond: 10, burst: 5, Frequency, nowTimestamp: 1000);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAcquire(1000), $"burst token {i}");
        }

        Assert.False(limiter.TryAcquire(1000));
        Assert.False(limiter.TryAcquire(1000 + (Frequency / 10) - 1)); // just short of one token
        Assert.True(limiter.TryAcquire(1000 + (Frequency / 10)));      // 100 ms at 10/s = 1 token
        Assert.False(limiter.TryAcquire(1000 + (Frequency / 10)));
    }

    [Fact]
    public void A_refunded_token_can_be_taken_again_but_never_beyond_the_burst()
    {
        var limiter = new MissRateLimiter(1, 2, Frequency, 0);
        Assert.True(limiter.TryAcquire(0));
        Assert.True(limiter.TryAcquire(0));
        Assert.False(limiter.TryAcquire(0));
        limiter.Refund();
        Assert.True(limiter.TryAcquire(0));
        Assert.False(limiter.TryAcquire(0));

        limiter.Refund();
        limiter.Refund();
        limiter.Refund(); // one more than was taken: the bucket stays at its burst
        Assert.Equal(2, limiter.AvailableTokens);
    }

    [Fact]
    public void Refill_stops_at_the_burst()
    {
        var limiter = new MissRateLimiter(10, 3, Frequency, 0);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAcquire(0));
        }

        var later = 3600 * Frequency; // an hour idle
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => limiter.TryAcquire(later)));
    }

    [Fact]
    public void Fractional_refill_accumulates_without_drift()
    {
        // Burst 2 so the cap never clips the fraction left over after each grant.
        var limiter = new MissRateLimiter(3, 2, Frequency, 0);
        Assert.True(limiter.TryAcquire(0));
        Assert.True(limiter.TryAcquire(0));
        var granted = 0;
        // 3 per second checked every millisecond for 10 s: exactly 30 (333.33 ms per token).
        for (long ms = 1; ms <= 10_000; ms++)
        {
            if (limiter.TryAcquire(ms * (Frequency / 1000)))
            {
                granted++;
            }
        }

        Assert.Equal(30, granted);
    }

    [Fact]
    public void Time_going_backwards_grants_nothing_extra()
    {
        var limiter = new MissRateLimiter(1, 1, Frequency, 10 * Frequency);
        Assert.True(limiter.TryAcquire(10 * Frequency));
        Assert.False(limiter.TryAcquire(5 * Frequency));
        Assert.False(limiter.TryAcquire(10 * Frequency));
        Assert.True(limiter.TryAcquire(11 * Frequency));
    }

    [Fact]
    public void A_huge_first_gap_does_not_overflow()
    {
        var limiter = new MissRateLimiter(int.MaxValue, int.MaxValue, Frequency, long.MinValue / 2);
        Assert.True(limiter.TryAcquire(long.MaxValue / 2));
    }

    [Fact]
    public void Several_tokens_are_taken_whole_or_not_at_all_and_can_be_refunded()
    {
        var limiter = new MissRateLimiter(ratePerSecond: 10, burst: 8, Frequency, nowTimestamp: 0);
        Assert.True(limiter.TryAcquire(0, 5));
        Assert.False(limiter.TryAcquire(0, 4)); // 3 left: refused whole, nothing taken
        Assert.Equal(3, limiter.AvailableTokens);
        Assert.True(limiter.TryAcquire(0, 3));

        // Refunded tokens come back, never past the burst.
        limiter.Refund(3);
        Assert.Equal(3, limiter.AvailableTokens);
        limiter.Refund(100);
        Assert.Equal(8, limiter.AvailableTokens);

        // More than the burst never fits, however long the wait; zero or fewer tokens is a caller's bug.
        Assert.False(limiter.TryAcquire(long.MaxValue / 2, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => limiter.TryAcquire(0, 0));
    }

    [Fact]
    public void Default_instance_never_grants()
    {
        var limiter = default(MissRateLimiter);
        Assert.False(limiter.TryAcquire(long.MaxValue));
    }

    [Fact]
    public void Invalid_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MissRateLimiter(0, 1, Frequency, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MissRateLimiter(1, 0, Frequency, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MissRateLimiter(1, 1, 0, 0));
    }
}
