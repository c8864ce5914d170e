using EdgeRelay.LoadTest.Engine;
using HdrHistogram;

namespace EdgeRelay.LoadTest.Tests;

public class LatencyStatisticsTests
{
    [Fact]
    public void Percentiles_of_1_to_1000_microseconds_are_where_they_should_be()
    {
        var histogram = LatencyHistograms.Create();
        for (long v = 1; v <= 1000; v++)
        {
            histogram.RecordValue(v);
        }

        var summary = LatencyHistograms.Summarize(histogram);

        // Below 2048 µs three significant digits make every microsecond its own bucket: exact.
        Assert.Equal(500, summary.P50);
        Assert.Equal(900, summary.P90);
        Assert.Equal(990, summary.P99);
        Assert.Equal(999, summary.P999);
        Assert.Equal(1000, summary.Max);
    }

    [Fact]
    public void Large_values_keep_three_significant_digits()
    {
        var histogram = LatencyHistograms.Create();
        histogram.RecordValue(1_234_567);

        var summary = LatencyHistograms.Summarize(histogram);

        Assert.InRange(summary.P50, 1_234_567 * 0.999, 1_234_567 * 1.001);
        Assert.InRange(summary.Max, 1_234_567 * 0.999, 1_234_567 * 1.001);
    }

    [Fact]
    public void An_empty_histogram_summarizes_to_zeros()
    {
        Assert.Equal(default, LatencyHistograms.Summarize(LatencyHistograms.Create()));
    }

    [Fact]
    public void Per_worker_histograms_merge_into_the_whole_distribution()
    {
        // Two workers that saw interleaved halves of the same data.
        var odd = LatencyHistograms.Create();
        var even = LatencyHistograms.Create();
        for (long v = 1; v <= 1000; v++)
        {
            (v % 2 == 1 ? odd : even).RecordValue(v);
        }

        var merged = LatencyHistograms.Merge([odd, even]);

        Assert.Equal(1000, merged.TotalCount);
        Assert.Equal(new LatencySummary(500, 900, 990, 999, 1000), LatencyHistograms.Summarize(merged));
        Assert.Equal(500, odd.TotalCount); // inputs untouched
        Assert.Equal(999, odd.GetMaxValue());
    }

    [Fact]
    public void Meters_recorded_concurrently_add_up_in_the_sampler_total()
    {
        var time = TimeProvider.System;
        long f = time.TimestampFrequency;
        var window = new MeasurementWindow(0, 0, long.MaxValue);
        var meters = new[] { new LoadMeter(f), new LoadMeter(f) };

        // Each meter is written by several threads at once, as a connection's workers do.
        Parallel.For(0, 4, worker =>
        {
            var meter = meters[worker % 2];
            for (long us = 1; us <= 250; us++)
            {
                long value = (worker * 250) + us; // 1..1000 across the four workers
                meter.RecordSuccess(window, 0, value * f / 1_000_000);
            }
        });

        var sampler = new ProgressSampler(meters, window, time);
        sampler.Sample(workersDone: true);

        Assert.Equal(1000, sampler.Total.TotalCount);
        Assert.Equal(new LatencySummary(500, 900, 990, 999, 1000), LatencyHistograms.Summarize(sampler.Total));
        Assert.Equal(1000, meters.Sum(m => m.Measured));
    }

    [Theory]
    [InlineData(1_000_000_000L)] // Stopwatch on Linux
    [InlineData(10_000_000L)] // TimeSpan ticks (FakeTimeProvider)
    public void Timestamp_ticks_convert_to_whole_microseconds_without_overflow(long frequency)
    {
        Assert.Equal(1, LatencyHistograms.ToMicroseconds(frequency / 1_000_000, frequency));
        Assert.Equal(6_000, LatencyHistograms.ToMicroseconds(frequency * 6 / 1000, frequency));

        // Ten hours of ticks: the naive ticks * 1e6 would overflow a long at 1 GHz.
        long tenHours = frequency * 36_000;
        Assert.Equal(36_000_000_000L, LatencyHistograms.ToMicroseconds(tenHours, frequency));
    }

    [Fact]
    public void Values_beyond_the_trackable_range_are_clamped_not_thrown()
    {
        HistogramBase histogram = LatencyHistograms.Create();
        histogram.RecordValue(LatencyHistograms.Clamp(long.MaxValue));
        histogram.RecordValue(LatencyHistograms.Clamp(-5));

        Assert.Equal(2, histogram.TotalCount);
    }
}
