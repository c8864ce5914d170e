namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Counts the operations in flight that may touch the log, so that closing can wait for them: after
/// <see cref="Close"/>, new operations throw <see cref="ObjectDisposedException"/> and
/// <see cref="WaitForOperationsAsync"/> returns once the count is zero.
/// </summary>
internal sealed class StoreGate
{
    private const int Closed = 1 << 30;
    private int _state;

    public bool IsClosing => (Volatile.Read(ref _state) & Closed) != 0;

    public void Enter()
    {
        if ((Interlocked.Increment(ref _state) & Closed) != 0)
        {
            Interlocked.Decrement(ref _state);
            ThrowHelper.ThrowDisposed();
        }
    }

    public void Exit() => Interlocked.Decrement(ref _state);

    public void ThrowIfClosed()
    {
        if (IsClosing)
        {
            ThrowHelper.ThrowDisposed();
        }
    }

    public void Close() => Interlocked.Or(ref _state, Closed);

    public async Task WaitForOperationsAsync()
    {
        while ((Volatile.Read(ref _state) & ~Closed) != 0)
        {
            // Appends waiting for log space hold an operation; the committer keeps serving them.
            await Task.Delay(1);
        }
    }
}
