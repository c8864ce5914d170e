namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// The open model on one connection: sends go out at the times <see cref="OpenSchedule"/> fixes in advance,
/// whatever the system does, with at most <c>maxInFlight</c> outstanding. Latency runs from the
/// <em>intended</em> send time: a send that goes out late (the system is behind, every slot is taken, or the
/// generator itself was slow) carries its lateness in its latency, so coordinated omission cannot hide
/// queueing.
/// </summary>
/// <remarks>
/// Between sends the worker waits on an <see cref="ITicker"/> (about 1 ms), so a send can go out up to a
/// tick late even on an idle system: that lag is measured (<see cref="LoadMeter.RecordLag"/>) and reported
/// next to the latency, so an operator can tell the generator's lateness from the system's.
/// </remarks>
internal sealed class OpenLoopWorker
{
    /// <summary>
    /// How long past the end of the window sends that were due inside it may still go out. A generator that
    /// is further behind than this stops and reports the rest as <see cref="GeneratorErrors.NotSent"/>.
    /// </summary>
    public static readonly TimeSpan IssueGrace = TimeSpan.FromSeconds(5);

    private readonly OpenSchedule _schedule;
    private readonly int _maxInFlight;
    private readonly MeasurementWindow _window;
    private readonly LoadMeter _meter;
    private readonly TimeProvider _time;
    private readonly ITicker _ticker;
    private readonly LoadOperation _operation;
    private readonly Func<Exception, LoadError> _classify;
    private volatile bool _connectionLost;

    public OpenLoopWorker(OpenSchedule schedule, int maxInFlight, MeasurementWindow window, LoadMeter meter, TimeProvider time, ITicker ticker, LoadOperation operation, Func<Exception, LoadError> classify)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInFlight);
        _ticker = ticker;
        _schedule = schedule;
        _maxInFlight = maxInFlight;
        _window = window;
        _meter = meter;
        _time = time;
        _operation = operation;
        _classify = classify;
    }

    /// <param name="stop">Stops issuing early (Ctrl+C); outstanding sends still complete.</param>
    /// <param name="abort">Cancels outstanding sends (the drain took too long).</param>
    public async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        using var slots = new SemaphoreSlim(_maxInFlight, _maxInFlight);
        long graceTicks = MeasurementWindow.ToTicks(IssueGrace, _time.TimestampFrequency);
        long n = 0;
        try
        {
            while (!stop.IsCancellationRequested && !_connectionLost)
            {
                long intended = _schedule.IntendedTimestamp(n);
                long end = _window.End;
                if (intended >= end)
                {
                    break;
                }

                long now = _time.GetTimestamp();
                if (now >= end + graceTicks)
                {
                    break;
                }

                if (intended > now)
                {
                    await _ticker.WaitAsync(stop);
                    continue;
                }

                await slots.WaitAsync(stop);
                _meter.RecordLag(_window, intended, _time.GetTimestamp());
                _ = IssueAsync(n, intended, slots, abort);
                n++;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        if (!stop.IsCancellationRequested)
        {
            // Sends due in the window that never went out are the shortfall: count it, do not hide it.
            long due = _schedule.FirstAtOrAfter(_window.End) - Math.Max(n, _schedule.FirstAtOrAfter(_window.MeasureFrom));
            if (due > 0)
            {
                _meter.RecordError(_window, _window.MeasureFrom, GeneratorErrors.NotSent, due);
            }
        }

        // Drain: every slot back means every send has completed (or been aborted).
        for (int i = 0; i < _maxInFlight; i++)
        {
            await slots.WaitAsync(CancellationToken.None);
        }
    }

    private async Task IssueAsync(long sequence, long intended, SemaphoreSlim slots, CancellationToken abort)
    {
        try
        {
            int messages = await _operation(sequence, abort);
            if (messages == 0)
            {
                _window.EndDry(intended);
            }
            else
            {
                _meter.RecordSuccess(_window, intended, _time.GetTimestamp(), messages);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            _meter.RecordError(_window, intended, GeneratorErrors.DrainTimeout);
        }
#pragma warning disable CA1031 // Every failure is a measurement: count it by code and carry on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (_meter.RecordFailure(_window, intended, ex, _classify))
            {
                _connectionLost = true;
            }
        }
        finally
        {
            slots.Release();
        }
    }
}
