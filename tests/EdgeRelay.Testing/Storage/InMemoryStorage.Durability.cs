using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Storage;

// The durability a test steers: held, released and failed flushes, tickets observed undurable, and crashes.
public sealed partial class InMemoryStorage
{
    /// <summary>
    /// Raised (outside the storage's lock) whenever someone asks whether a ticket is durable, or waits for
    /// it, while it is not: the moment a correct caller stops before promising anything. Tests wait for it to
    /// know that a reply or a delivery is being held back, instead of sleeping and hoping.
    /// </summary>
    public event Action<DurabilityTicket>? UndurableTicketObserved;

    /// <summary>
    /// Raised (outside the storage's lock) after every listing of pending messages, with the address and the
    /// count listed: a test that makes writes durable from here lands a flush in the gap between a reader's
    /// listing and whatever it decides next, the narrowest interleaving a real flush thread can produce.
    /// </summary>
    public event Action<AddressId, int>? PendingListed;

    /// <summary>Every write at or below this position is durable (a ticket is durable when its position is at most this).</summary>
    public long DurablePosition
    {
        get
        {
            lock (_lock)
            {
                return _durable;
            }
        }
    }

    /// <summary>Most records that may wait for a flush before appends report back-pressure (0: no limit), like a log buffer.</summary>
    public int MaxUndurableRecords { get; set; }

    public int MaxPayloadBytes => _limits.MaxPayloadBytes;

    public int MaxAckIds => 65536;

    public Action<double>? FlushObserver { get; set; }

    /// <summary>Flush requests waiting for <see cref="ReleaseFlushes"/> (held mode) or nothing to wait for.</summary>
    public int WaitingFlushes
    {
        get
        {
            lock (_lock)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Records written and not durable yet.</summary>
    public int UndurableRecords
    {
        get
        {
            lock (_lock)
            {
                return _log.Count - _durable;
            }
        }
    }

    /// <summary>Completes the first time <paramref name="ticket"/> is asked about (or waited for) while it is not durable.</summary>
    public Task WhenObservedUndurable(DurabilityTicket ticket)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Observe(DurabilityTicket observed)
        {
            if (observed == ticket)
            {
                seen.TrySetResult();
            }
        }

        UndurableTicketObserved += Observe;
        _ = seen.Task.ContinueWith(_ => UndurableTicketObserved -= Observe, TaskScheduler.Default);
        return seen.Task;
    }

    /// <summary>Completes the first time any ticket is asked about (or waited for) while it is not durable.</summary>
    public Task WhenAnyObservedUndurable()
    {
        var seen = new TaskCompletionSource<DurabilityTicket>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Observe(DurabilityTicket observed) => seen.TrySetResult(observed);
        UndurableTicketObserved += Observe;
        _ = seen.Task.ContinueWith(_ => UndurableTicketObserved -= Observe, TaskScheduler.Default);
        return seen.Task;
    }

    /// <summary>From now on, nothing becomes durable until <see cref="ReleaseFlushes"/>.</summary>
    public void HoldFlushes()
    {
        lock (_lock)
        {
            _held = true;
        }
    }

    /// <summary>Makes everything written so far durable, completes every waiter, and (with <paramref name="keepHolding"/>) keeps holding later flushes.</summary>
    public void ReleaseFlushes(bool keepHolding = false)
    {
        lock (_lock)
        {
            _held = keepHolding;
            FlushLocked();
        }
    }

    /// <summary>Fails every flush waiting now (as a failed commit would): their writes stay undurable; their waiters fault with <paramref name="error"/>.</summary>
    public void FailFlushes(Exception error)
    {
        lock (_lock)
        {
            foreach (var (_, done) in _waiters)
            {
                done.TrySetException(error);
            }

            _waiters.Clear();
            Interlocked.Exchange(ref _round, NewRound()).TrySetException(error);
        }
    }

    /// <summary>Set by <see cref="Break"/>: this store's flushes fail from then on.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>
    /// A failure the store cannot recover from while it runs (as a full disk leaves FASTER's log): every flush
    /// waiting now and every later one fails with <paramref name="error"/>, and <see cref="Failure"/> says so.
    /// </summary>
    public void Break(Exception error)
    {
        lock (_lock)
        {
            Failure = error;
        }

        FailFlushes(error);
    }

    /// <summary>A crash: drops what was not flushed, faults every waiter, and closes. Open the place again to recover.</summary>
    public void Abandon()
    {
        lock (_lock)
        {
            _closed = true;
            var error = new ObjectDisposedException(nameof(InMemoryStorage));
            foreach (var (_, done) in _waiters)
            {
                done.TrySetException(error);
            }

            _waiters.Clear();
            _round.TrySetException(error);
        }
    }

    public bool IsDurable(DurabilityTicket ticket)
    {
        bool durable;
        lock (_lock)
        {
            durable = ticket.Position <= _durable;
        }

        if (!durable)
        {
            UndurableTicketObserved?.Invoke(ticket);
        }

        return durable;
    }

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default)
    {
        Task wait;
        lock (_lock)
        {
            if (ticket.Position <= _durable)
            {
                return default;
            }

            ThrowIfClosed();
            if (ticket.Position > _log.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(ticket), ticket, "Not a ticket of this storage.");
            }

            if (Failure is { } failure)
            {
                return ValueTask.FromException(failure);
            }

            if (!_held)
            {
                FlushLocked();
                return default;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((ticket.Position, done));
            wait = done.Task;
        }

        UndurableTicketObserved?.Invoke(ticket);
        return new ValueTask(ct.CanBeCanceled ? wait.WaitAsync(ct) : wait);
    }

    public void RequestFlush()
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (!_held)
            {
                FlushLocked();
            }
        }
    }

    public Task FlushAsync()
    {
        lock (_lock)
        {
            ThrowIfClosed();
            return Failure is { } failure ? Task.FromException(failure) : RequestRoundLocked();
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task RequestRoundLocked()
    {
        if (!_held)
        {
            FlushLocked();
            return Task.CompletedTask;
        }

        return _round.Task;
    }

    private void FlushLocked()
    {
        if (Failure is null && _durable < _log.Count)
        {
            _place.MakeDurable(_log, _log.Count);
            _durable = _log.Count;
            _flushes++;
            FlushObserver?.Invoke(0);
        }

        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Position <= _durable)
            {
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }

        Interlocked.Exchange(ref _round, NewRound()).TrySetResult();
    }
}
