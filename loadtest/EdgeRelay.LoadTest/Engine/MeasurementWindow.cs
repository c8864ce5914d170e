namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// When a run starts, stops warming up and ends, as timestamps of the run's <see cref="TimeProvider"/>.
/// An operation belongs to the results when its origin (issue time in the closed model, intended time in
/// the open one) falls in [<see cref="MeasureFrom"/>, <see cref="End"/>): whatever completes later is still
/// counted, so the slowest requests of the window are not cut off.
/// </summary>
internal sealed class MeasurementWindow
{
    private long _end;
    private int _ranDry;

    public MeasurementWindow(long start, long measureFrom, long end)
    {
        if (measureFrom < start || end < measureFrom)
        {
            throw new ArgumentException("Expected start <= measureFrom <= end.");
        }

        Start = start;
        MeasureFrom = measureFrom;
        _end = end;
    }

    public static MeasurementWindow Create(TimeProvider time, TimeSpan warmup, TimeSpan duration)
    {
        long start = time.GetTimestamp();
        long measureFrom = start + ToTicks(warmup, time.TimestampFrequency);
        return new MeasurementWindow(start, measureFrom, measureFrom + ToTicks(duration, time.TimestampFrequency));
    }

    public long Start { get; }

    public long MeasureFrom { get; }

    /// <summary>Where issuing stops. Moves earlier (never later) when the run is stopped early.</summary>
    public long End => Volatile.Read(ref _end);

    public bool IsMeasured(long origin) => origin >= MeasureFrom && origin < End;

    /// <summary>Ends the run now (Ctrl+C): nothing more is issued; what is outstanding still completes and counts.</summary>
    public void EndAt(long timestamp)
    {
        long current = Volatile.Read(ref _end);
        while (timestamp < current)
        {
            long seen = Interlocked.CompareExchange(ref _end, Math.Max(timestamp, MeasureFrom), current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>True when <see cref="EndDry"/> moved the end: a queue ran out before the planned end.</summary>
    public bool RanDry => Volatile.Read(ref _ranDry) != 0;

    /// <summary>
    /// Ends the window at the origin of an operation that found its source empty (pull): what was issued
    /// before still counts, and the run reports a window shorter than planned rather than a rate diluted by
    /// empty pulls.
    /// </summary>
    public void EndDry(long timestamp)
    {
        if (timestamp < End)
        {
            Volatile.Write(ref _ranDry, 1);
            EndAt(timestamp);
        }
    }

    /// <summary>The measured time actually covered: shorter than planned after an early stop.</summary>
    public TimeSpan MeasuredDuration(long frequency) => TimeSpan.FromSeconds((double)(End - MeasureFrom) / frequency);

    public static long ToTicks(TimeSpan span, long frequency) => (long)(span.TotalSeconds * frequency);
}
