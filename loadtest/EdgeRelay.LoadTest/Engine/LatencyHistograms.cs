using HdrHistogram;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>Latency percentiles of a run, in microseconds.</summary>
internal readonly record struct LatencySummary(long P50, long P90, long P99, long P999, long Max);

/// <summary>
/// One histogram layout for the whole tool, so any two histograms can be added: values in microseconds,
/// 1 µs to 1 hour (the longest run), three significant digits (values below 2048 µs are exact, above
/// that within 0.1%).
/// </summary>
internal static class LatencyHistograms
{
    public const long HighestTrackableMicroseconds = 3_600_000_000;

    public const int SignificantDigits = 3;

    /// <summary>
    /// An interval recorder: many writers record wait-free (the histograms underneath are the concurrent
    /// kind), one reader swaps out what was recorded since its last call without stopping them.
    /// </summary>
    public static Recorder CreateRecorder() =>
        new(1, HighestTrackableMicroseconds, SignificantDigits, static (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));

    /// <summary>A single-threaded histogram with the same layout, for totals and merges.</summary>
    public static HistogramBase Create() => new LongHistogram(1, HighestTrackableMicroseconds, SignificantDigits);

    /// <summary>Adds per-worker histograms into one; the inputs are untouched.</summary>
    public static HistogramBase Merge(IEnumerable<HistogramBase> histograms)
    {
        var total = Create();
        foreach (var histogram in histograms)
        {
            total.Add(histogram);
        }

        return total;
    }

    /// <summary>Records one value, clamped into the trackable range (HdrHistogram throws outside it).</summary>
    public static long Clamp(long microseconds) => Math.Clamp(microseconds, 0, HighestTrackableMicroseconds);

    public static LatencySummary Summarize(HistogramBase histogram) =>
        histogram.TotalCount == 0
            ? default
            : new LatencySummary(
                histogram.GetValueAtPercentile(50),
                histogram.GetValueAtPercentile(90),
                histogram.GetValueAtPercentile(99),
                histogram.GetValueAtPercentile(99.9),
                histogram.GetMaxValue());

    /// <summary>Timestamp ticks to whole microseconds, exact and free of overflow for any run length.</summary>
    public static long ToMicroseconds(long ticks, long frequency) =>
        (ticks / frequency * 1_000_000) + (ticks % frequency * 1_000_000 / frequency);
}
