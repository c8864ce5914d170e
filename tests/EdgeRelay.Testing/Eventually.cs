using System.Diagnostics;

namespace EdgeRelay.Testing;

/// <summary>
/// Waiting for something a test does not control the timing of (another process, a real socket, the
/// thread pool). Each wait has a deadline and fails loudly when it passes, saying what it waited for;
/// none proves that something does not happen (that takes a fake clock, not a wait).
/// </summary>
public static class Eventually
{
    /// <summary>The default deadline: long enough for a busy CI machine, short enough that a hang fails the run.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> otherwise.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? deadline = null, TimeSpan? interval = null) =>
        TrueAsync(condition, () => what, deadline, interval);

    /// <summary>
    /// As <see cref="TrueAsync(Func{bool}, string, TimeSpan?, TimeSpan?)"/>, with the description built when the
    /// deadline passes, so it can say what the state was then.
    /// </summary>
    public static async Task TrueAsync(Func<bool> condition, Func<string> describe, TimeSpan? deadline = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(describe);
        var limit = deadline ?? DefaultDeadline;
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:F0} s for {describe()}.");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(10));
        }
    }

    /// <summary>As <see cref="TrueAsync(Func{bool}, string, TimeSpan?, TimeSpan?)"/> for an asynchronous condition.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = deadline ?? DefaultDeadline;
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Waited {limit.TotalSeconds:F0} s for {what}.");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(10));
        }
    }

    /// <summary>Awaits <paramref name="task"/> within the deadline; throws <see cref="TimeoutException"/> naming <paramref name="what"/> otherwise.</summary>
    public static async Task<T> Within<T>(Task<T> task, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            return await task.WaitAsync(deadline ?? DefaultDeadline);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {(deadline ?? DefaultDeadline).TotalSeconds:F0} s for {what}.", ex);
        }
    }

    /// <summary>Awaits <paramref name="task"/> within the deadline; throws <see cref="TimeoutException"/> naming <paramref name="what"/> otherwise.</summary>
    public static async Task Within(Task task, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            await task.WaitAsync(deadline ?? DefaultDeadline);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {(deadline ?? DefaultDeadline).TotalSeconds:F0} s for {what}.", ex);
        }
    }

    /// <summary>A token that cancels at the deadline: a bound on every wait of a test, so a bug fails the test instead of hanging the run.</summary>
    public static CancellationToken Deadline(TimeSpan? deadline = null) => new CancellationTokenSource(deadline ?? DefaultDeadline).Token;
}
