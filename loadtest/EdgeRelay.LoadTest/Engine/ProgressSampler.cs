using HdrHistogram;

namespace EdgeRelay.LoadTest.Engine;

internal enum RunPhase
{
    Warmup,
    Measure,
    Drain,
    Done,
}

/// <summary>What the live display shows, about four times a second.</summary>
internal readonly record struct ProgressSnapshot(
    RunPhase Phase,
    TimeSpan Elapsed,
    TimeSpan Planned,
    double MessagesPerSecond,
    long? RecentP99Micros,
    long Measured,
    long Errors);

/// <summary>
/// The run's single reader of the meters: moves each interval's latencies into the run total, and keeps a
/// one-second window for the "current p99" of the live display. Called from one thread only.
/// </summary>
internal sealed class ProgressSampler
{
    private static readonly TimeSpan RecentSpan = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<LoadMeter> _meters;
    private readonly MeasurementWindow _window;
    private readonly TimeProvider _time;
    private readonly HistogramBase _recent = LatencyHistograms.Create();
    private long _recentSince;
    private long? _recentP99;
    private long _lastTimestamp;
    private long _lastCompleted;
    private double _rate;

    public ProgressSampler(IReadOnlyList<LoadMeter> meters, MeasurementWindow window, TimeProvider time)
    {
        _meters = meters;
        _window = window;
        _time = time;
        _lastTimestamp = window.Start;
        _recentSince = window.Start;
    }

    /// <summary>Every latency measured so far (the final result once the workers are done and a last sample is taken).</summary>
    public HistogramBase Total { get; } = LatencyHistograms.Create();

    /// <summary>Open model: every send lag measured so far.</summary>
    public HistogramBase LagTotal { get; } = LatencyHistograms.Create();

    public ProgressSnapshot Sample(bool workersDone)
    {
        long now = _time.GetTimestamp();
        long completed = 0;
        long measured = 0;
        long errors = 0;
        foreach (var meter in _meters)
        {
            var interval = meter.TakeInterval();
            Total.Add(interval);
            _recent.Add(interval);
            LagTotal.Add(meter.TakeLagInterval());
            completed += meter.Completed;
            measured += meter.Measured;
            errors += meter.ErrorsSeen;
        }

        double seconds = (double)(now - _lastTimestamp) / _time.TimestampFrequency;
        if (seconds > 0)
        {
            _rate = (completed - _lastCompleted) / seconds;
        }

        _lastTimestamp = now;
        _lastCompleted = completed;
        if (_time.GetElapsedTime(_recentSince, now) >= RecentSpan || workersDone)
        {
            // A second without a success has no p99: the last one measured would describe a system that has
            // since stopped answering (a relay refusing everything during warm-up shows none).
            _recentP99 = _recent.TotalCount == 0 ? null : _recent.GetValueAtPercentile(99);
            _recent.Reset();
            _recentSince = now;
        }

        var phase = workersDone ? RunPhase.Done
            : now < _window.MeasureFrom ? RunPhase.Warmup
            : now < _window.End ? RunPhase.Measure
            : RunPhase.Drain;
        return new ProgressSnapshot(
            phase,
            _time.GetElapsedTime(_window.Start, now),
            _time.GetElapsedTime(_window.Start, _window.End),
            _rate,
            _recentP99,
            measured,
            errors);
    }
}
