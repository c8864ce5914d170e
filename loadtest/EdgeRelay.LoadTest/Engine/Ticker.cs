namespace EdgeRelay.LoadTest.Engine;

/// <summary>What the open model waits on between sends that are not yet due.</summary>
internal interface ITicker
{
    /// <summary>Completes at the next tick (about a millisecond away); the caller re-checks its schedule then.</summary>
    Task WaitAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Ticks about every millisecond from a dedicated thread that sleeps with <see cref="Thread.Sleep(int)"/>.
/// </summary>
/// <remarks>
/// Why not <see cref="Task.Delay(TimeSpan)"/> or <see cref="PeriodicTimer"/>: on the 2-core Linux machines
/// this project runs on, .NET's timer queue fired a 1 ms delay after 4.3 ms at the median (measured), so
/// every open-model send would go out ~4 ms late and the generator's own lag would swamp the relay's
/// latency. <c>Thread.Sleep(1)</c> there takes 1.1 ms. One thread waking a thousand times a second costs
/// next to nothing; spinning instead would steal a core from the system under test.
/// </remarks>
internal sealed class SleepTicker : ITicker, IDisposable
{
    private readonly Thread _thread;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopped;

    public SleepTicker()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "loadtest-ticker" };
        _thread.Start();
    }

    public Task WaitAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Volatile.Read(ref _next).Task;

    private void Run()
    {
        while (!_stopped)
        {
            Thread.Sleep(1);
            Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();
        }

        _next.TrySetResult();
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }
}

/// <summary>Ticks on a <see cref="TimeProvider"/>'s timers: for tests with a fake clock.</summary>
internal sealed class TimeProviderTicker(TimeProvider time) : ITicker
{
    public Task WaitAsync(CancellationToken cancellationToken) => Task.Delay(TimeSpan.FromMilliseconds(1), time, cancellationToken);
}
