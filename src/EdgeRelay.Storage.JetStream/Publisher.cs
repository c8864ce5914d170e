using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// The backend's group commit: writes wait in a batch until someone asks for durability, then one round
/// publishes the whole batch to JetStream, waits for every PubAck (each one means the record is stored on a
/// majority of its stream's replicas) and for this node's followers to have applied the records, and only
/// then marks the round's tickets durable. Rounds run one at a time, so tickets become durable in order.
/// </summary>
/// <remarks>
/// <para>Waiting for the followers too is what keeps the contract's "durable means listed": a message whose
/// ticket is durable is already in this node's index, as with a log that lists what it committed.</para>
/// <para>A publish that finds no stream leader (an election after a server was lost) or times out is retried
/// with the same <c>Nats-Msg-Id</c>, so JetStream's duplicate window stores it once, for up to
/// <see cref="JetStreamStorageOptions.PublishRetryWindow"/>; a retry answered "duplicate" is that record, stored.
/// Past that, or on a refusal, the store fails for good: a ticket that can never be durable would hold back every
/// later one.</para>
/// <para>The window is a deadline on each publish and on the wait for this node to apply it, not only a limit on
/// retries: with every server gone the client neither answers nor throws, it waits to reconnect, so a round that
/// only counted failed attempts would wait for ever (and a store being closed with it).</para>
/// </remarks>
internal sealed class Publisher : IDisposable
{
    /// <summary>Publishes of one round in flight at once: enough to fill the pipe, few enough to bound memory.</summary>
    private const int Window = 1024;

    private readonly INatsJSContext _js;
    private readonly JetStreamStorageOptions _options;
    private readonly Func<string, ulong, Task> _waitApplied;
    private readonly Action<List<(AddressId Address, ulong Seq)>> _addressesStored;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _writerTag;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private List<Outgoing> _batch = [];
    private long _batchBytes;
    private long _lastTicket;
    private long _durable;
    private long _roundEnd;
    private bool _requested;
    private bool _stopping;
    private TaskCompletionSource _current = NewRound();
    private TaskCompletionSource _next = NewRound();
    private Exception? _failure;
    private Task _loop = Task.CompletedTask;
    private long _rounds;
    private long _retries;

    public Publisher(INatsJSContext js, JetStreamStorageOptions options, long writer, Func<string, ulong, Task> waitApplied, Action<List<(AddressId Address, ulong Seq)>> addressesStored, ILogger logger, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _js = js;
        _options = options;
        _waitApplied = waitApplied;
        _addressesStored = addressesStored;
        _logger = logger;
        _writerTag = writer.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + "-";
    }

    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Publishes retried after no answer or no leader.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Told each round's duration in seconds (a metrics histogram).</summary>
    public Action<double>? Observer { get; set; }

    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>True while the batch has room for another write (<see cref="JetStreamStorageOptions.MaxUnflushedBytes"/>).</summary>
    public bool HasRoom
    {
        get
        {
            lock (_lock)
            {
                return _batchBytes < _options.MaxUnflushedBytes;
            }
        }
    }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Adds a write to the batch; its ticket. The caller holds whatever makes the write's order matter.</summary>
    /// <param name="address">For a registry record: its address, told to the store with the record's sequence once the round is applied.</param>
    public DurabilityTicket Enqueue(string stream, string subject, byte[] record, AddressId? address = null)
    {
        lock (_lock)
        {
            var ticket = ++_lastTicket;
            _batch.Add(new Outgoing(stream, subject, record, ticket, address));
            _batchBytes += record.Length;
            return DurabilityTicket.At(ticket);
        }
    }

    public bool IsDurable(DurabilityTicket ticket) => ticket.Position <= Volatile.Read(ref _durable);

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct)
    {
        if (IsDurable(ticket))
        {
            return default;
        }

        Task round;
        lock (_lock)
        {
            if (ticket.Position <= _durable)
            {
                return default;
            }

            if (_failure is not null)
            {
                return ValueTask.FromException(new IOException("The JetStream store failed; nothing more becomes durable.", _failure));
            }

            round = ticket.Position <= _roundEnd ? _current.Task : RequestLocked();
        }

        return new ValueTask(ct.CanBeCanceled ? round.WaitAsync(ct) : round);
    }

    public Task FlushAsync()
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return Task.FromException(new IOException("The JetStream store failed; nothing more becomes durable.", _failure));
            }

            return _lastTicket <= _durable ? Task.CompletedTask : _lastTicket <= _roundEnd ? _current.Task : RequestLocked();
        }
    }

    public void RequestFlush()
    {
        lock (_lock)
        {
            if (_lastTicket > _roundEnd)
            {
                RequestLocked();
            }
        }
    }

    /// <summary>Publishes what is batched, then stops the rounds. Waiters of a failed store stay faulted.</summary>
    public async Task StopAsync()
    {
        try
        {
            await FlushAsync();
        }
        catch (IOException)
        {
            // Closing a failed store: what was not durable was never promised.
        }

        lock (_lock)
        {
            _stopping = true;
            RequestLocked();
        }

        await _loop;
    }

    /// <summary>Fails every waiter now and every later one (the connection is gone under a crash, or the store is closing broken).</summary>
    public void Fail(Exception error)
    {
        TaskCompletionSource current, next;
        lock (_lock)
        {
            _failure ??= error;
            current = _current;
            next = _next;
        }

        var io = new IOException("The JetStream store failed; nothing more becomes durable.", error);
        current.TrySetException(io);
        next.TrySetException(io);

        // Publishes still waiting (for a reconnect, an election) can no longer make anything durable.
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _signal.Dispose();
        _abort.Dispose();
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task RequestLocked()
    {
        if (!_requested)
        {
            _requested = true;
            _signal.Release();
        }

        return _next.Task;
    }

    private async Task RunAsync()
    {
        while (true)
        {
            await _signal.WaitAsync().ConfigureAwait(false);
            List<Outgoing> batch;
            TaskCompletionSource round;
            long end;
            lock (_lock)
            {
                _requested = false;
                if (_failure is not null)
                {
                    _next.TrySetException(new IOException("The JetStream store failed; nothing more becomes durable.", _failure));
                    if (_stopping)
                    {
                        return;
                    }

                    continue;
                }

                batch = _batch;
                _batch = [];
                _batchBytes = 0;
                round = _next;
                _next = NewRound();
                _current = round;
                end = _lastTicket;
                _roundEnd = end;
            }

            if (batch.Count > 0)
            {
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    await PublishAsync(batch).ConfigureAwait(false);
                    Interlocked.Increment(ref _rounds);
                    Observer?.Invoke(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                catch (Exception ex)
                {
                    JetStreamLog.RoundFailed(_logger, batch.Count, ex);
                    Fail(ex);
                    round.TrySetException(new IOException("The JetStream store failed; nothing more becomes durable.", ex));
                    continue;
                }
            }

            Volatile.Write(ref _durable, end);
            round.TrySetResult();
            lock (_lock)
            {
                if (_stopping && _batch.Count == 0)
                {
                    return;
                }
            }
        }
    }

    private async Task PublishAsync(List<Outgoing> batch)
    {
        var highest = new Dictionary<string, ulong>();
        var addresses = new List<(AddressId Address, ulong Seq)>();
        var inFlight = new List<Task<ulong>>(Math.Min(batch.Count, Window));
        for (var start = 0; start < batch.Count; start += Window)
        {
            // One deadline for the chunk: its publishes start together, so it is each one's retry window.
            using var window = new CancellationTokenSource(_options.PublishRetryWindow, _time);
            using var aborted = _abort.Token.UnsafeRegister(static w => ((CancellationTokenSource)w!).Cancel(), window);
            inFlight.Clear();
            var end = Math.Min(batch.Count, start + Window);
            for (var i = start; i < end; i++)
            {
                inFlight.Add(PublishOneAsync(batch[i], window.Token));
            }

            for (var i = start; i < end; i++)
            {
                var seq = await inFlight[i - start].ConfigureAwait(false);
                if (batch[i].Address is { } address)
                {
                    addresses.Add((address, seq));
                }

                var stream = batch[i].Stream;
                if (!highest.TryGetValue(stream, out var top) || seq > top)
                {
                    highest[stream] = seq;
                }
            }
        }

        foreach (var (stream, seq) in highest)
        {
            try
            {
                await _waitApplied(stream, seq).WaitAsync(_options.PublishRetryWindow, _time, _abort.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException(
                    $"Stream {stream} stored record {seq}, but this node did not read it back within the publish retry window ({_options.PublishRetryWindow.TotalSeconds:F0} s).");
            }
        }

        if (addresses.Count > 0)
        {
            _addressesStored(addresses);
        }
    }

    private async Task<ulong> PublishOneAsync(Outgoing item, CancellationToken window)
    {
        var opts = new NatsJSPubOpts { MsgId = _writerTag + item.Ticket.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                var ack = await _js.PublishAsync(item.Subject, item.Record, opts: opts, cancellationToken: window).ConfigureAwait(false);
                if (ack is { Error: null, Duplicate: true })
                {
                    // A retry whose earlier attempt was stored but whose ack was lost (the leader died after storing
                    // it): JetStream drops the copy and answers with the stored record's sequence. The client would
                    // throw on it, and retrying would only be told the same until the window closed.
                    return ack.Seq;
                }

                ack.EnsureSuccess();
                return ack.Seq;
            }
            catch (NatsException ex) when (StartRetry.IsTransient(ex) && !window.IsCancellationRequested)
            {
                // No leader (an election), a lost server, a timeout: the same Msg-Id makes the retry store it once.
                JetStreamLog.PublishRetry(_logger, item.Subject, ex);
                Interlocked.Increment(ref _retries);
            }
            catch (OperationCanceledException) when (window.IsCancellationRequested && !_abort.IsCancellationRequested)
            {
                throw WindowPassed(item);
            }

            try
            {
                await Task.Delay(delay, _time, window).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
            {
                throw WindowPassed(item);
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
        }
    }

    private TimeoutException WindowPassed(Outgoing item) => new(
        $"JetStream did not acknowledge a write to {item.Subject} within the publish retry window ({_options.PublishRetryWindow.TotalSeconds:F0} s): no stream leader, or no server reachable.");

    private readonly record struct Outgoing(string Stream, string Subject, byte[] Record, long Ticket, AddressId? Address);
}
