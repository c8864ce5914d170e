namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    /// <summary>True if the record at <paramref name="recordAddress"/> is durable.</summary>
    public bool IsCommitted(long recordAddress)
    {
        ThrowIfClosed();
        return recordAddress < CommittedUntilAddress;
    }

    /// <summary>
    /// Asks the committer for a commit and returns at once. Many requests before the committer runs
    /// cost one commit.
    /// </summary>
    public void RequestCommit()
    {
        EnterOperation();
        try
        {
            _committer.Request();
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Requests a commit and returns the round that covers every record enqueued before this call (it
    /// completes when that commit is durable, or faults if it failed).
    /// </summary>
    public Task RequestCommitRound()
    {
        EnterOperation();
        try
        {
            return _committer.CommitAsync();
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Requests a commit and completes once the record at <paramref name="recordAddress"/> (an address
    /// returned by this store) is durable, i.e. <see cref="CommittedUntilAddress"/> &gt; it. Faults with
    /// <see cref="IOException"/> if that commit failed.
    /// </summary>
    /// <remarks>
    /// Allocation-free for the caller when <paramref name="ct"/> cannot be cancelled: every waiter of a
    /// commit shares one task. A cancellable token costs one allocation per call (<c>Task.WaitAsync</c>);
    /// a commit completes or fails within milliseconds, so the hot path can pass none.
    /// </remarks>
    public ValueTask WaitForCommitAsync(long recordAddress, CancellationToken ct = default)
    {
        EnterOperation();
        try
        {
            if (recordAddress < CommittedUntilAddress)
            {
                return default;
            }

            // The one-round guarantee below holds for records enqueued before this call; an address
            // past the tail was never handed out, and waiting for it could return too early.
            if (recordAddress >= _log.TailAddress)
            {
                throw new ArgumentOutOfRangeException(nameof(recordAddress), recordAddress, "Not the address of a record of this store (it is past the log tail).");
            }

            var round = _committer.CommitAsync();
            return ct.CanBeCanceled ? new ValueTask(round.WaitAsync(ct)) : new ValueTask(round);
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Waits (blocking) until a commit has freed log memory. For the rare control records (create,
    /// revoke, ack) appended through synchronous methods; never spins on the enqueue.
    /// </summary>
    private void WaitForLogSpace(int attempt)
    {
        if (attempt > 2)
        {
            // A commit frees the whole buffer, so the retry after one has always succeeded in
            // measurements; this only keeps an unforeseen case from turning into a busy loop.
            Thread.Sleep(1);
        }

        _committer.CommitAsync().GetAwaiter().GetResult();
    }

    private async ValueTask WaitForLogSpaceAsync(int attempt, CancellationToken ct)
    {
        if (attempt > 2)
        {
            await Task.Delay(1, ct);
        }

        await _committer.CommitAsync().WaitAsync(ct);
    }
}
