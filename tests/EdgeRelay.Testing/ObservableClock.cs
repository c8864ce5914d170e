using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells when a timer is created, and for when: a component waiting on
/// the clock (a batched window, a retry back-off) creates one, so a test knows the component is parked on it
/// and can advance the clock past it instead of sleeping.
/// </summary>
public sealed class ObservableClock : FakeTimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<(TimeSpan Min, TimeSpan Max, TaskCompletionSource<TimeSpan> Seen)> _watchers = [];

    public ObservableClock(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>Completes the next time a timer is created whose first due time is at least <paramref name="atLeast"/> from now.</summary>
    public Task<TimeSpan> WhenTimerCreated(TimeSpan atLeast) => WhenTimerCreated(atLeast, TimeSpan.MaxValue);

    /// <summary>
    /// Completes the next time a timer is created whose first due time is between <paramref name="atLeast"/> and
    /// <paramref name="atMost"/> from now: for a component that also creates timers of other lengths (a time-out
    /// around the work it is waiting between).
    /// </summary>
    public Task<TimeSpan> WhenTimerCreated(TimeSpan atLeast, TimeSpan atMost)
    {
        var seen = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _watchers.Add((atLeast, atMost, seen));
        }

        return seen.Task;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_lock)
        {
            for (var i = _watchers.Count - 1; i >= 0; i--)
            {
                if (dueTime != Timeout.InfiniteTimeSpan && dueTime >= _watchers[i].Min && dueTime <= _watchers[i].Max)
                {
                    _watchers[i].Seen.TrySetResult(dueTime);
                    _watchers.RemoveAt(i);
                }
            }
        }

        return timer;
    }
}
