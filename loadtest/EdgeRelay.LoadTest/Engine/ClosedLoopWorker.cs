namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// The closed model on one connection: <c>concurrency</c> loops, each issuing its next operation as soon as
/// its previous one completes. Latency runs from issue to completion, so when the system slows down the
/// generator slows down with it: throughput is what the system sustains at this concurrency.
/// </summary>
internal sealed class ClosedLoopWorker
{
    private readonly int _concurrency;
    private readonly MeasurementWindow _window;
    private readonly LoadMeter _meter;
    private readonly TimeProvider _time;
    private readonly LoadOperation _operation;
    private readonly Func<Exception, LoadError> _classify;
    private long _sequence = -1;
    private volatile bool _connectionLost;

    public ClosedLoopWorker(int concurrency, MeasurementWindow window, LoadMeter meter, TimeProvider time, LoadOperation operation, Func<Exception, LoadError> classify)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        _concurrency = concurrency;
        _window = window;
        _meter = meter;
        _time = time;
        _operation = operation;
        _classify = classify;
    }

    /// <param name="stop">Stops issuing early (Ctrl+C); outstanding operations still complete.</param>
    /// <param name="abort">Cancels outstanding operations (the drain took too long).</param>
    public Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        var loops = new Task[_concurrency];
        for (int i = 0; i < loops.Length; i++)
        {
            loops[i] = LoopAsync(stop, abort);
        }

        return Task.WhenAll(loops);
    }

    private async Task LoopAsync(CancellationToken stop, CancellationToken abort)
    {
        await Task.Yield();
        while (!stop.IsCancellationRequested && !_connectionLost)
        {
            long origin = _time.GetTimestamp();
            if (origin >= _window.End)
            {
                return;
            }

            long sequence = Interlocked.Increment(ref _sequence);
            try
            {
                int messages = await _operation(sequence, abort);
                if (messages == 0)
                {
                    _window.EndDry(origin);
                    return;
                }

                _meter.RecordSuccess(_window, origin, _time.GetTimestamp(), messages);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                _meter.RecordError(_window, origin, GeneratorErrors.DrainTimeout);
                return;
            }
#pragma warning disable CA1031 // Every failure is a measurement: count it by code and carry on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (_meter.RecordFailure(_window, origin, ex, _classify))
                {
                    _connectionLost = true;
                }
            }
        }
    }
}
