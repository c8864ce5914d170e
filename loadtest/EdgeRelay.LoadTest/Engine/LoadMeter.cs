using System.Collections.Concurrent;
using HdrHistogram;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// What a group of workers measured: a latency recorder, message counters and errors by code. Workers
/// write concurrently without locks; the run's sampler reads intervals out while they do.
/// </summary>
/// <remarks>
/// A run has a few meters (one per connection up to <see cref="LoadRunner.MaxMeters"/>, shared beyond):
/// each holds six histograms of ~190 KiB (two recorders), so one per connection would cost too much at thousands of
/// connections, and one for everybody would make every core fight over the same counters.
/// </remarks>
internal sealed class LoadMeter
{
    private readonly Recorder _recorder = LatencyHistograms.CreateRecorder();
    private readonly Recorder _lag = LatencyHistograms.CreateRecorder();
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly long _frequency;
    private HistogramBase? _recycled;
    private HistogramBase? _recycledLag;
    private long _completed;
    private long _measured;
    private long _operations;
    private long _errorsSeen;
    private long _warmupErrors;

    public LoadMeter(long timestampFrequency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timestampFrequency, 1);
        _frequency = timestampFrequency;
    }

    /// <summary>Messages moved by successful operations, warm-up included (for live progress).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Messages moved by successful operations whose origin fell in the measurement window.</summary>
    public long Measured => Interlocked.Read(ref _measured);

    /// <summary>Successful operations whose origin fell in the measurement window (batches for pull; else equal to <see cref="Measured"/>).</summary>
    public long MeasuredOperations => Interlocked.Read(ref _operations);

    /// <summary>Every error seen so far, warm-up included (for live progress).</summary>
    public long ErrorsSeen => Interlocked.Read(ref _errorsSeen);

    /// <summary>Errors of operations that started during warm-up: not in the results, but worth a mention.</summary>
    public long WarmupErrors => Interlocked.Read(ref _warmupErrors);

    /// <summary>
    /// Records a success whose latency runs from <paramref name="origin"/> to <paramref name="completed"/>. An
    /// operation that moved several messages (a pull batch) records its latency once per message: percentiles
    /// are per message, each message having waited for the whole batch that carried it.
    /// </summary>
    public void RecordSuccess(MeasurementWindow window, long origin, long completed, int messages = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messages);
        Interlocked.Add(ref _completed, messages);
        if (window.IsMeasured(origin))
        {
            _recorder.RecordValueWithCount(LatencyHistograms.Clamp(LatencyHistograms.ToMicroseconds(completed - origin, _frequency)), messages);
            Interlocked.Add(ref _measured, messages);
            Interlocked.Increment(ref _operations);
        }
    }

    /// <summary>Open model: how late a measured send went out (issue time minus intended time).</summary>
    public void RecordLag(MeasurementWindow window, long intended, long issued)
    {
        if (window.IsMeasured(intended))
        {
            _lag.RecordValue(LatencyHistograms.Clamp(LatencyHistograms.ToMicroseconds(Math.Max(0, issued - intended), _frequency)));
        }
    }

    /// <summary>Records a failed operation under the target's own error code; true when it cost the connection.</summary>
    public bool RecordFailure(MeasurementWindow window, long origin, Exception failure, Func<Exception, LoadError> classify)
    {
        var error = classify(failure);
        RecordError(window, origin, error.Code);
        return error.ConnectionLost;
    }

    public void RecordError(MeasurementWindow window, long origin, string code, long count = 1)
    {
        Interlocked.Add(ref _errorsSeen, count);
        if (window.IsMeasured(origin))
        {
            _errors.AddOrUpdate(code, count, (_, n) => n + count);
        }
        else if (origin < window.MeasureFrom)
        {
            Interlocked.Add(ref _warmupErrors, count);
        }
    }

    /// <summary>
    /// Takes what was recorded since the last call. Only one thread (the sampler) may call this; the
    /// returned histogram is valid until the next call, which recycles it.
    /// </summary>
    public HistogramBase TakeInterval()
    {
        _recycled = _recorder.GetIntervalHistogram(_recycled);
        return _recycled;
    }

    /// <summary>Like <see cref="TakeInterval"/>, for the send lag.</summary>
    public HistogramBase TakeLagInterval()
    {
        _recycledLag = _lag.GetIntervalHistogram(_recycledLag);
        return _recycledLag;
    }

    /// <summary>Measured errors by code name.</summary>
    public IEnumerable<KeyValuePair<string, long>> Errors => _errors;
}
