using FASTER.core;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The one task that commits the log. Callers only raise a flag; requests that arrive while a
/// commit runs are served together by the next one (group commit), so N waiting sessions cost one
/// <c>CommitAsync</c>, not N.
/// </summary>
/// <remarks>
/// <para>
/// Waiters are served in rounds. <see cref="NextRound"/> is the task of the round that has not started
/// yet; a round starts by swapping in a fresh task, then commits up to the tail. So a waiter that
/// reads <see cref="NextRound"/> after its record was enqueued, and then calls <see cref="Request"/>,
/// is covered by the round it holds: that round starts after the read, hence commits past the record.
/// This costs one <see cref="TaskCompletionSource"/> per commit and nothing per waiter, unlike
/// <c>FasterLog.WaitForCommitAsync</c>, which is an async method awaiting
/// <c>WithCancellationAsync</c> (a state machine per waiter) and issues no commit itself.
/// </para>
/// <para>
/// The committer never spins: it sleeps on a semaphore until a request arrives. Waiters' continuations
/// run asynchronously so thousands of sessions resuming never run on the committer's thread.
/// </para>
/// </remarks>
internal sealed class GroupCommitter : IDisposable
{
    private readonly FasterLog _log;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _nextRound = NewRound();
    private int _requested;
    private Exception? _failure;
    private long _commits;

    public GroupCommitter(FasterLog log, ILogger logger)
    {
        _log = log;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Called with each commit's duration in seconds (metrics); must not block or throw.</summary>
    public Action<double>? Observer { get; set; }

    /// <summary>Commits actually performed (rounds that found nothing new to commit are not counted).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>The first commit failure, kept: the log cannot commit again until it is opened anew.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Completes when the next round to start has committed (faults if that commit failed).</summary>
    public Task NextRound => Volatile.Read(ref _nextRound).Task;

    /// <summary>Asks for a commit. Wait-free; a no-op while a request is already pending.</summary>
    public void Request()
    {
        // The plain read spares the interlocked write when many sessions ask within one round.
        if (Volatile.Read(ref _requested) == 0 && Interlocked.Exchange(ref _requested, 1) == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>Requests a commit and returns the round that will cover everything enqueued before this call.</summary>
    public Task CommitAsync()
    {
        var round = NextRound;
        Request();
        return round;
    }

    /// <summary>Stops the loop after the round in progress; any round not started fails with <see cref="ObjectDisposedException"/>.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Volatile.Read(ref _nextRound).TrySetException(new ObjectDisposedException(nameof(FasterStorage)));
    }

    public void Dispose()
    {
        _stop.Dispose();
        _signal.Dispose();
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                await _signal.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Clear before swapping: a request arriving after this point either holds the round
            // swapped in below (and re-raises the flag, so it runs next) or an earlier one.
            Interlocked.Exchange(ref _requested, 0);
            var round = Interlocked.Exchange(ref _nextRound, NewRound());
            try
            {
                // A moved begin address (truncation) needs a commit too, to be persisted.
                if (_log.TailAddress > Volatile.Read(ref _log.CommittedUntilAddress)
                    || _log.BeginAddress > Volatile.Read(ref _log.CommittedBeginAddress))
                {
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    await _log.CommitAsync();
                    Interlocked.Increment(ref _commits);
                    Observer?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                }

                round.TrySetResult();
            }
            catch (Exception ex)
            {
                // Whatever the cause, the loop must survive it: a dead committer would hang every waiter. FASTER
                // keeps a failed page flush as the log's state (every later commit reports the same range), so the
                // first failure is the store's for good: kept for the host, which stops and restarts.
                Interlocked.CompareExchange(ref _failure, ex, null);
                StorageLog.CommitFailed(_logger, ex);
                round.TrySetException(new IOException("Committing the relay log failed; the records of this commit are not durable.", ex));
            }
        }
    }
}
