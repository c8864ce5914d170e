using System.Threading.Channels;
using EdgeRelay.LoadTest.Engine;
using HdrHistogram;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Latency accounting under a fake clock: nothing here waits on real time, every timestamp is set by the test.
/// </summary>
public class OpenModelTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_schedule_deals_intended_times_round_robin_over_connections()
    {
        const long Frequency = 1_000_000; // 1 tick = 1 µs
        var c0 = new OpenSchedule(500, Frequency, messagesPerSecond: 1000, connection: 0, connections: 4);
        var c1 = new OpenSchedule(500, Frequency, messagesPerSecond: 1000, connection: 1, connections: 4);

        // 1000 msgs/s over 4 connections: message k at 500 + k ms; connection 1 sends k = 1, 5, 9...
        Assert.Equal(500, c0.IntendedTimestamp(0));
        Assert.Equal(4_500, c0.IntendedTimestamp(1));
        Assert.Equal(1_500, c1.IntendedTimestamp(0));
        Assert.Equal(9_500, c1.IntendedTimestamp(2));
    }

    [Fact]
    public void FirstAtOrAfter_inverts_the_schedule_even_with_fractional_intervals()
    {
        var schedule = new OpenSchedule(1_000, 10_000_000, messagesPerSecond: 3_000, connection: 2, connections: 7);
        for (long t = 0; t < 200_000; t += 97)
        {
            long n = schedule.FirstAtOrAfter(t);
            Assert.True(schedule.IntendedTimestamp(n) >= t);
            Assert.True(n == 0 || schedule.IntendedTimestamp(n - 1) < t);
        }
    }

    [Fact]
    public async Task A_late_send_records_latency_from_its_intended_time_not_from_when_it_went_out()
    {
        var time = new FakeTimeProvider();
        long t0 = time.GetTimestamp();
        var calls = Channel.CreateUnbounded<TaskCompletionSource<int>>();
        var meter = new LoadMeter(time.TimestampFrequency);

        // 1000 msgs/s: send 0 is due at t0, send 1 at t0 + 1 ms; the window holds just those two.
        var window = new MeasurementWindow(t0, t0, t0 + Ms(time, 2));
        var worker = new OpenLoopWorker(
            new OpenSchedule(t0, time.TimestampFrequency, 1000, 0, 1), maxInFlight: 1, window, meter, time,
            new TimeProviderTicker(time), Operation(calls), _ => new LoadError("FAILED", false));

        time.Advance(TimeSpan.FromMilliseconds(1));
        var run = worker.RunAsync(CancellationToken.None, CancellationToken.None);
        var send0 = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // Send 0 holds the only in-flight slot for 5 ms, so send 1 (due at t0 + 1 ms) goes out at t0 + 6 ms...
        time.Advance(TimeSpan.FromMilliseconds(5));
        send0.SetResult(1);
        var send1 = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        // ...and is served in 1 ms. From its issue that is 1 ms; from its intended time, 6 ms.
        time.Advance(TimeSpan.FromMilliseconds(1));
        send1.SetResult(1);
        await run.WaitAsync(Timeout);

        var latencies = meter.TakeInterval();
        Assert.Equal(2, latencies.TotalCount);
        Assert.InRange(latencies.GetValueAtPercentile(0), 6_000, 6_010); // send 0: due t0, done t0 + 6 ms
        Assert.InRange(latencies.GetMaxValue(), 6_000, 6_010); // send 1: due t0 + 1, done t0 + 7 ms: not 1 ms
        var lag = meter.TakeLagInterval();
        Assert.InRange(lag.GetMaxValue(), 5_000, 5_010); // send 1 went out 5 ms late, and that is reported too
        Assert.Equal(2, meter.Measured);
    }

    [Fact]
    public async Task The_closed_model_measures_from_issue()
    {
        var time = new FakeTimeProvider();
        long t0 = time.GetTimestamp();
        var calls = Channel.CreateUnbounded<TaskCompletionSource<int>>();
        var meter = new LoadMeter(time.TimestampFrequency);
        var window = new MeasurementWindow(t0, t0, t0 + Ms(time, 1));
        var worker = new ClosedLoopWorker(1, window, meter, time, Operation(calls), _ => new LoadError("FAILED", false));

        var run = worker.RunAsync(CancellationToken.None, CancellationToken.None);
        var send = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        time.Advance(TimeSpan.FromMilliseconds(1));
        send.SetResult(1);
        await run.WaitAsync(Timeout); // the next loop starts at t0 + 1 ms, the end of the window

        var latencies = meter.TakeInterval();
        Assert.Equal(1, latencies.TotalCount);
        Assert.InRange(latencies.GetMaxValue(), 1_000, 1_001);
    }

    [Fact]
    public async Task A_lost_connection_stops_the_worker_and_the_sends_it_owed_are_reported_not_sent()
    {
        var time = new FakeTimeProvider();
        long t0 = time.GetTimestamp();
        var meter = new LoadMeter(time.TimestampFrequency);
        var window = new MeasurementWindow(t0, t0, t0 + Ms(time, 10)); // ten sends due at 1000 msgs/s
        var worker = new OpenLoopWorker(
            new OpenSchedule(t0, time.TimestampFrequency, 1000, 0, 1), maxInFlight: 1, window, meter, time,
            new TimeProviderTicker(time),
            (_, _) => ValueTask.FromException<int>(new IOException("reset")),
            _ => new LoadError(GeneratorErrors.ConnectionLost, ConnectionLost: true));

        await worker.RunAsync(CancellationToken.None, CancellationToken.None).WaitAsync(Timeout);

        var errors = meter.Errors.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(1, errors[GeneratorErrors.ConnectionLost]);
        Assert.Equal(9, errors[GeneratorErrors.NotSent]);
        Assert.Equal(0, meter.Measured);
    }

    [Fact]
    public void Warm_up_is_excluded_from_latencies_and_errors()
    {
        var meter = new LoadMeter(1_000_000);
        var window = new MeasurementWindow(start: 0, measureFrom: 1_000, end: 2_000);

        meter.RecordSuccess(window, origin: 999, completed: 1_500); // began in warm-up
        meter.RecordError(window, origin: 10, "RATE_LIMITED");
        meter.RecordSuccess(window, origin: 1_000, completed: 1_250); // measured
        meter.RecordSuccess(window, origin: 2_000, completed: 2_001); // after the window

        Assert.Equal(3, meter.Completed);
        Assert.Equal(1, meter.Measured);
        Assert.Equal(1, meter.WarmupErrors);
        Assert.Empty(meter.Errors);
        Assert.Equal(250, meter.TakeInterval().GetMaxValue());
    }

    [Fact]
    public void Stopping_early_moves_the_end_back_but_never_into_warm_up()
    {
        var window = new MeasurementWindow(start: 0, measureFrom: 1_000, end: 5_000);

        window.EndAt(3_000);
        Assert.Equal(3_000, window.End);
        window.EndAt(4_000); // later: ignored
        Assert.Equal(3_000, window.End);
        window.EndAt(500); // during warm-up: nothing measured at all
        Assert.Equal(1_000, window.End);
    }

    [Fact]
    public async Task A_batch_counts_its_messages_and_weights_its_latency_by_them()
    {
        var time = new FakeTimeProvider();
        long t0 = time.GetTimestamp();
        var calls = Channel.CreateUnbounded<TaskCompletionSource<int>>();
        var meter = new LoadMeter(time.TimestampFrequency);
        var window = new MeasurementWindow(t0, t0, t0 + Ms(time, 1));
        var worker = new ClosedLoopWorker(1, window, meter, time, Operation(calls), _ => new LoadError("FAILED", false));

        var run = worker.RunAsync(CancellationToken.None, CancellationToken.None);
        var batch = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        time.Advance(TimeSpan.FromMilliseconds(2));
        batch.SetResult(256); // one pull that took 2 ms and carried 256 messages
        await run.WaitAsync(Timeout);

        Assert.Equal(256, meter.Measured);
        Assert.Equal(1, meter.MeasuredOperations);
        var latencies = meter.TakeInterval();
        Assert.Equal(256, latencies.TotalCount); // per message: each waited for the whole batch
        Assert.InRange(latencies.GetValueAtPercentile(50), 2_000, 2_002);
    }

    [Fact]
    public async Task An_empty_pull_ends_the_window_at_its_origin_and_says_the_queue_ran_dry()
    {
        var time = new FakeTimeProvider();
        long t0 = time.GetTimestamp();
        var calls = Channel.CreateUnbounded<TaskCompletionSource<int>>();
        var meter = new LoadMeter(time.TimestampFrequency);
        var window = new MeasurementWindow(t0, t0, t0 + Ms(time, 10_000));
        var worker = new ClosedLoopWorker(1, window, meter, time, Operation(calls), _ => new LoadError("FAILED", false));

        var run = worker.RunAsync(CancellationToken.None, CancellationToken.None);
        var first = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        time.Advance(TimeSpan.FromMilliseconds(3));
        first.SetResult(10);
        var second = await calls.Reader.ReadAsync().AsTask().WaitAsync(Timeout); // issued at t0 + 3 ms
        time.Advance(TimeSpan.FromMilliseconds(1));
        second.SetResult(0); // the queue is empty
        await run.WaitAsync(Timeout); // the worker stops without waiting for the planned 10 s

        Assert.True(window.RanDry);
        Assert.Equal(t0 + Ms(time, 3), window.End);
        Assert.Equal(10, meter.Measured);
        Assert.Empty(meter.Errors);
    }

    [Fact]
    public void A_dry_end_later_than_the_planned_one_changes_nothing()
    {
        var window = new MeasurementWindow(start: 0, measureFrom: 1_000, end: 5_000);

        window.EndDry(6_000);

        Assert.False(window.RanDry);
        Assert.Equal(5_000, window.End);
    }

    private static long Ms(TimeProvider time, int milliseconds) => time.TimestampFrequency * milliseconds / 1000;

    /// <summary>An operation that hands each call to the test, which completes it when it chooses.</summary>
    private static LoadOperation Operation(Channel<TaskCompletionSource<int>> calls) => (_, _) =>
    {
        var completion = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        calls.Writer.TryWrite(completion);
        return new ValueTask<int>(completion.Task);
    };
}
