using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// The sending service's outbound queue on NATS JetStream, so that a SEND_VIA acknowledged by one relay node
/// survives the loss of that node's disk: one stream <c>&lt;PREFIX&gt;-OUTBOUND</c> holds a record per queued
/// message and one per settle, and every node follows it into the same in-memory index (<see cref="OutboundIndex"/>).
/// </summary>
/// <remarks>
/// <para>A send id is the queued record's stream sequence: unique across every node, never handed out again (a
/// stream's sequence only grows, even past deleted records), and increasing in enqueue order, because an
/// enqueue returns only once its record is stored and applied, so any enqueue that starts after it gets a later
/// sequence. Two enqueues running at once have no order between them to keep.</para>
/// <para>Writes go through a <see cref="Publisher"/> of the queue's own, as the store's do: retried with one
/// <c>Nats-Msg-Id</c> for <see cref="JetStreamStorageOptions.PublishRetryWindow"/>, and a ticket is durable once
/// JetStream stored its record at the stream's replication and this node applied it. An enqueue asks for that
/// round itself and waits for it (it needs its sequence), so its ticket is durable when it returns; concurrent
/// enqueues share a round. Settles are batched until someone waits for a ticket, and tickets become durable in
/// the order they were handed out.</para>
/// <para>The limits of <see cref="OutboundLimits"/> are checked against this node's index plus its own enqueues not
/// back yet. With several nodes that is approximate: nodes enqueueing at the same instant each see the others'
/// records only once applied, so the queue can pass a limit by what they queued at once (as the message store's
/// quotas can).</para>
/// <para>A settle shows on the settling node at once; the first settle record of a send id in stream order is the
/// one in force on every node (two nodes settling one message at once: both are told Settled, the stream
/// decides the state). The settling node deletes the message's queued record once its settle is in force, and its
/// settle record once the status passed <see cref="OutboundLimits.SettledRetention"/>, so the stream holds what
/// is queued and what is retained.</para>
/// </remarks>
public sealed partial class JetStreamOutboundQueue : IOutboundQueue, IOutboundDispatch
{
    private readonly JetStreamStorageOptions _options;
    private readonly OutboundLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly bool _ownsConnection;
    private readonly long _writer;
    private readonly Lock _lock = new();
    private readonly OutboundIndex _index = new();

    // This node's enqueues not back from the stream yet, by their local number: counted against the limits, and
    // how the enqueue waiting on one learns its sequence.
    private readonly Dictionary<long, Reservation> _reserved = [];
    private readonly Dictionary<string, int> _reservedPerOwner = new(StringComparer.Ordinal);
    private readonly HashSet<int> _skippedKinds = []; // the follower's thread only
    private readonly CancellationTokenSource _stopping = new();
    private readonly Publisher _publisher;
    private readonly Deleter _deleter;
    private readonly StreamFollower _follower;
    private long _reservedBytes;
    private long _nextLocal;
    private ITimer? _maintenance;
    private int _disposed;

    public Exception? Failure => _publisher.Failure;

    /// <summary>The store's payload limit, or less when a queued record would not fit in a NATS message (1 MiB by default) with it and its headers (the message id).</summary>
    public int MaxCiphertextBytes => Math.Min(_options.MaxPayloadBytes, (1 << 20) - OutboundRecords.MaxQueuedOverhead - HeaderRoom);

    /// <summary>What NATS counts against its payload limit beside the record: the headers a publish carries (its message id).</summary>
    private const int HeaderRoom = 256;

    public async ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (request.Ciphertext.Length > MaxCiphertextBytes)
        {
            throw new ArgumentException($"The ciphertext is longer than {MaxCiphertextBytes} bytes.", nameof(request));
        }

        ThrowIfDisposed();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Reservation reservation;
        DurabilityTicket ticket;
        lock (_lock)
        {
            var admitted = Admit(request.Owner, request.Ciphertext.Length);
            if (admitted != OutboundEnqueueStatus.Queued)
            {
                return new OutboundEnqueueResult(admitted, 0, DurabilityTicket.None);
            }

            // The record is a copy: the caller may reuse its buffers once this returns.
            var local = ++_nextLocal;
            reservation = new Reservation(request.Owner, request.Ciphertext.Length);
            _reserved.Add(local, reservation);
            _reservedPerOwner[request.Owner] = _reservedPerOwner.GetValueOrDefault(request.Owner) + 1;
            _reservedBytes += request.Ciphertext.Length;
            ticket = _publisher.Enqueue(_options.OutboundStream, _options.OutboundSubject, OutboundRecords.Queued(_writer, local, now, request.ReleaseAt(now), request));
        }

        // The round waits for this node to apply the record, and applying it completes the reservation. Not on ct: the
        // record is on its way and will be queued, so the caller must learn its id (the round is bounded by the retry window).
        await _publisher.WaitDurableAsync(ticket, CancellationToken.None).ConfigureAwait(false);
        var message = await reservation.Stored.Task.ConfigureAwait(false);
        return new OutboundEnqueueResult(OutboundEnqueueStatus.Queued, message.SendId, ticket, message);
    }

    public async ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default)
    {
        var result = new SettleStatus[1];
        var ticket = await SettleManyAsync([new OutboundSettle(sendId, state, code)], result, ct).ConfigureAwait(false);
        return new WriteResult<SettleStatus>(result[0], ticket);
    }

    public ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default)
    {
        OutboundSettle.Validate(settles, results);
        ThrowIfDisposed();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var ticket = DurabilityTicket.None;
        lock (_lock)
        {
            for (var i = 0; i < settles.Count; i++)
            {
                var (sendId, state, code) = settles[i];
                if (!_index.SettleHere(sendId, state, code, now, out var status))
                {
                    results[i] = SettleStatus.NotQueued;
                    continue;
                }

                results[i] = SettleStatus.Settled;
                ticket = _publisher.Enqueue(_options.OutboundStream, _options.OutboundSubject, OutboundRecords.Settled(_writer, status));
            }
        }

        return new ValueTask<DurabilityTicket>(ticket);
    }

    public IReadOnlyList<OutboundMessage> GetQueued()
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            return _index.Queued();
        }
    }

    public bool TryGetStatus(long sendId, out OutboundStatus status)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            return _index.TryGetStatus(sendId, out status);
        }
    }

    public OutboundStatistics GetStatistics()
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            // Queued and not back yet counts too, as it does against the limits.
            return new OutboundStatistics(_index.QueuedMessages + _reserved.Count, _index.QueuedBytes + _reservedBytes, _index.SettledRetained, _index.RecordBytes);
        }
    }

    public Task RunMaintenanceAsync()
    {
        ThrowIfDisposed();
        var dropped = new List<(ulong SendId, ulong Seq)>();
        lock (_lock)
        {
            var cutoff = _time.GetUtcNow().Subtract(_limits.SettledRetention).ToUnixTimeMilliseconds();
            _index.Forget(cutoff, dropped);
        }

        foreach (var (sendId, seq) in dropped)
        {
            _deleter.DeleteThen(_options.OutboundStream, sendId, seq); // queued record first: see ApplySettled
        }

        return Task.CompletedTask;
    }

    public bool IsDurable(DurabilityTicket ticket) => _publisher.IsDurable(ticket);

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => _publisher.WaitDurableAsync(ticket, ct);

    public void RequestFlush()
    {
        ThrowIfDisposed();
        _publisher.RequestFlush();
    }

    public Task FlushAsync()
    {
        ThrowIfDisposed();
        return _publisher.FlushAsync();
    }

    private OutboundEnqueueStatus Admit(string owner, int bytes)
    {
        if (_index.QueuedMessages + _reserved.Count >= _limits.MaxQueuedMessages || _index.QueuedBytes + _reservedBytes + bytes > _limits.MaxQueuedBytes)
        {
            return OutboundEnqueueStatus.QueueFull;
        }

        return _index.OwnerQueued(owner) + _reservedPerOwner.GetValueOrDefault(owner) >= _limits.MaxQueuedPerOwner
            ? OutboundEnqueueStatus.OwnerQuota
            : OutboundEnqueueStatus.Queued;
    }

    /// <summary>Applies one record of the stream, in stream order (the follower's thread).</summary>
    private void Apply(ulong seq, byte[] record)
    {
        var kind = record.Length >= OutboundRecords.HeaderLength ? OutboundRecords.Kind(record) : 0;
        switch (kind)
        {
            case OutboundRecordKind.Queued:
                ApplyQueued(seq, record);
                break;
            case OutboundRecordKind.Settled:
                ApplySettled(seq, record);
                break;
            default:
                // A newer relay's kind in a rolling upgrade: skipped, so it does not stop this node's follower.
                if (_skippedKinds.Add((int)kind))
                {
                    JetStreamLog.OutboundRecordSkipped(_logger, seq, record.Length, (int)kind);
                }

                break;
        }
    }

    private void ApplyQueued(ulong seq, byte[] record)
    {
        var writer = OutboundRecords.Writer(record);
        var (local, message) = OutboundRecords.ReadQueued(record, (long)seq);
        Reservation? reservation = null;
        lock (_lock)
        {
            _index.Queue(message, writer);
            if (writer == _writer && _reserved.Remove(local, out reservation))
            {
                _reservedBytes -= reservation.Bytes;
                var left = _reservedPerOwner[reservation.Owner] - 1;
                if (left == 0)
                {
                    _reservedPerOwner.Remove(reservation.Owner);
                }
                else
                {
                    _reservedPerOwner[reservation.Owner] = left;
                }
            }
        }

        reservation?.Stored.TrySetResult(message);
        if (writer != _writer)
        {
            TellIfAdopted(writer, message); // a node this one adopted from, whose records this node applies only now
        }
    }

    private void ApplySettled(ulong seq, byte[] record)
    {
        var writer = OutboundRecords.Writer(record);
        var status = OutboundRecords.ReadSettled(record);
        var cutoff = _time.GetUtcNow().Subtract(_limits.SettledRetention).ToUnixTimeMilliseconds();
        bool inForce, wasQueued;
        int length;
        lock (_lock)
        {
            (inForce, wasQueued, length) = _index.ApplySettled(status, seq, writer, cutoff);
        }

        if (inForce && wasQueued && writer != _writer)
        {
            TellSettledElsewhere(status, length);
        }

        if (status.SettledAtUnixMs <= cutoff)
        {
            // Past its retention already: whoever wrote it may be gone for good, so whichever node reads it (a node that
            // starts, mostly) deletes it. Two nodes deleting one record is harmless.
            // The queued record first, the settle record only once that one is gone: alone, a queued record would read as
            // queued again to a node that starts later.
            _deleter.DeleteThen(_options.OutboundStream, (ulong)status.SendId, seq);
        }
        else if (writer != _writer)
        {
            // Another node's settle: its writer deletes what it no longer needs.
        }
        else if (!inForce)
        {
            _deleter.Delete(_options.OutboundStream, seq); // another node's settle came first: this one says nothing
        }
        else if (wasQueued)
        {
            // The status lives on in the settle record; the ciphertext is no longer needed anywhere.
            _deleter.Delete(_options.OutboundStream, (ulong)status.SendId);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>An enqueue of this node's on its way: what it counts against the limits, and the message once applied.</summary>
    private sealed record Reservation(string Owner, int Bytes)
    {
        public TaskCompletionSource<OutboundMessage> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
