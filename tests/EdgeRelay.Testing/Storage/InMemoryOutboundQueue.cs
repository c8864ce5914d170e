using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Storage;

/// <summary>
/// The outbound queue contract in memory, for tests of what sits above it (the forwarding engine, sessions).
/// Every write is durable at once. The state lives in an <see cref="InMemoryOutboundQueue.Place"/>, so a queue
/// opened again on the same place sees what the previous one wrote, as after a restart.
/// </summary>
public sealed class InMemoryOutboundQueue : IOutboundQueue
{
    private readonly Place _place;
    private readonly OutboundLimits _limits;
    private readonly TimeProvider _time;
    private bool _disposed;

    public InMemoryOutboundQueue(Place? place = null, OutboundLimits? limits = null, TimeProvider? time = null)
    {
        _place = place ?? new Place();
        _limits = limits ?? new OutboundLimits();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Where a queue keeps its state across reopenings.</summary>
    public InMemoryOutboundQueue.Place State => _place;

    /// <summary>Settles seen, in order (sendId, state, code): tests check that each message settled once.</summary>
    public IReadOnlyList<(long SendId, OutboundState State, ushort Code)> Settles
    {
        get
        {
            lock (_place.Sync)
            {
                return [.. _place.SettleLog];
            }
        }
    }

    public ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var owned = _place.Queued.Values.Count(m => m.Owner == request.Owner);
            var bytes = _place.Queued.Values.Sum(m => (long)m.Ciphertext.Length);
            if (_place.Queued.Count >= _limits.MaxQueuedMessages || bytes + request.Ciphertext.Length > _limits.MaxQueuedBytes)
            {
                return new(new OutboundEnqueueResult(OutboundEnqueueStatus.QueueFull, 0, DurabilityTicket.None));
            }

            if (owned >= _limits.MaxQueuedPerOwner)
            {
                return new(new OutboundEnqueueResult(OutboundEnqueueStatus.OwnerQuota, 0, DurabilityTicket.None));
            }

            var id = ++_place.LastId;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var message = new OutboundMessage(id, request.Owner, request.Endpoint, request.Pin.ToArray(), request.EphemeralAddress.ToArray(), request.Ciphertext.ToArray(), now, request.ReleaseAt(now));
            _place.Queued.Add(id, message);
            return new(new OutboundEnqueueResult(OutboundEnqueueStatus.Queued, id, DurabilityTicket.At(id), message));
        }
    }

    public ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default)
    {
        if (state is not (OutboundState.Delivered or OutboundState.Failed))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "A message settles as delivered or failed.");
        }

        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_place.Queued.Remove(sendId, out var message))
            {
                return new(new WriteResult<SettleStatus>(SettleStatus.NotQueued, DurabilityTicket.None));
            }

            code = state == OutboundState.Failed ? code : (ushort)0;
            _place.Settled[sendId] = new OutboundStatus(sendId, message.Owner, state, code, message.QueuedAtUnixMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
            _place.SettleLog.Add((sendId, state, code));
            return new(new WriteResult<SettleStatus>(SettleStatus.Settled, DurabilityTicket.At(++_place.LastId)));
        }
    }

    public async ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default)
    {
        OutboundSettle.Validate(settles, results);
        var latest = DurabilityTicket.None;
        for (var i = 0; i < settles.Count; i++)
        {
            var (sendId, state, code) = settles[i];
            var result = await SettleAsync(sendId, state, code, ct);
            results[i] = result.Status;
            latest = DurabilityTicket.Latest(latest, result.Ticket);
        }

        return latest;
    }

    public IReadOnlyList<OutboundMessage> GetQueued()
    {
        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return [.. _place.Queued.Values];
        }
    }

    public bool TryGetStatus(long sendId, out OutboundStatus status)
    {
        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_place.Queued.TryGetValue(sendId, out var message))
            {
                status = new OutboundStatus(sendId, message.Owner, OutboundState.Queued, 0, message.QueuedAtUnixMs, 0);
                return true;
            }

            return _place.Settled.TryGetValue(sendId, out status);
        }
    }

    public Task RunMaintenanceAsync()
    {
        var cutoff = _time.GetUtcNow().Subtract(_limits.SettledRetention).ToUnixTimeMilliseconds();
        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var id in _place.Settled.Where(p => p.Value.SettledAtUnixMs <= cutoff).Select(p => p.Key).ToList())
            {
                _place.Settled.Remove(id);
            }
        }

        return Task.CompletedTask;
    }

    public OutboundStatistics GetStatistics()
    {
        lock (_place.Sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new OutboundStatistics(_place.Queued.Count, _place.Queued.Values.Sum(m => (long)m.Ciphertext.Length), _place.Settled.Count, 0);
        }
    }

    public bool IsDurable(DurabilityTicket ticket) => true;

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => default;

    public void RequestFlush()
    {
    }

    public Task FlushAsync() => Task.CompletedTask;

    /// <summary>Never set: this queue's flushes cannot fail.</summary>
    public Exception? Failure => null;

    public ValueTask DisposeAsync()
    {
        lock (_place.Sync)
        {
            _disposed = true;
        }

        return default;
    }

    /// <summary>The state of a queue, kept across reopenings.</summary>
    public sealed class Place
    {
        internal Lock Sync { get; } = new();

        internal SortedDictionary<long, OutboundMessage> Queued { get; } = [];

        internal Dictionary<long, OutboundStatus> Settled { get; } = [];

        internal List<(long, OutboundState, ushort)> SettleLog { get; } = [];

        internal long LastId { get; set; }
    }
}
