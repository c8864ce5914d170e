using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding;

/// <summary>
/// Forwards the queued messages of one destination: takes up to
/// <see cref="ForwardingOptions.MaxInFlightPerDestination"/> of those whose release time has come, oldest release
/// first (a batched message waits for its release time; those of one release go in a random order), spreads them
/// over at most <see cref="ForwardingOptions.MaxConnectionsPerDestination"/> pooled connections (pipelined), and settles
/// what each answer decides. A transient failure puts the rest back and backs the whole destination off;
/// a message past its maximum age fails as UNDELIVERABLE, at the latest when the clock reaches it.
/// </summary>
/// <remarks>
/// <para>One loop per destination, in rounds: a round's messages are all answered (or timed out) before the
/// next round starts, so a destination's state (failures, back-off, pool) has a single writer, and waiting is
/// always on the engine's <see cref="TimeProvider"/> (tests advance a fake clock past a back-off, a release time
/// or a maximum age instead of sleeping). Connections are closed when the destination has nothing to send now
/// (nothing queued, or only messages waiting for their release time).</para>
/// <para>A round's settle records are appended in one call before the next round starts, but waiting for
/// their commit and telling the senders runs while the next round is sent (at most one settle outstanding):
/// the receiving relay's commit and this relay's overlap instead of taking turns. A settle that fails puts
/// its messages back and backs the destination off when the loop next looks at it.</para>
/// <para>The maximum age is checked against the oldest queued time the loop knows of, so a long backlog is
/// scanned only when one of its messages may have expired, not on every round.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore holds no wait handle (only WaitAsync is used), and Add may still release it while the engine stops.")]
internal sealed partial class DestinationWorker
{
    private readonly ForwardingEngine _engine;
    private readonly PeerDestination _destination;
    private readonly Lock _sync = new();
    private readonly SortedDictionary<(long ReleaseAtUnixMs, int Shuffle, long SendId), PendingSend> _ready = []; // by PendingSend.Order
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<IPeerConnection> _pool = [];
    private int _wakeRequested;
    private long _oldestQueuedAtUnixMs = long.MaxValue; // at or below the oldest in _ready; under _sync
    private Task _settling = Task.CompletedTask;
    private List<(PendingSend Send, OutboundState State, ushort Code)>? _settlingOutcomes;
    private int _failures;
    private DateTimeOffset _retryAt = DateTimeOffset.MinValue;

    public DestinationWorker(ForwardingEngine engine, PeerDestination destination)
    {
        _engine = engine;
        _destination = destination;
    }

    public Task Loop { get; private set; } = Task.CompletedTask;

    private ForwardingOptions Options => _engine.Options;

    public void Start(CancellationToken stop, CancellationToken abort) => Loop = Task.Run(() => RunAsync(stop, abort), CancellationToken.None);

    public void Add(PendingSend send)
    {
        lock (_sync)
        {
            _ready[send.Order] = send;
            _oldestQueuedAtUnixMs = Math.Min(_oldestQueuedAtUnixMs, send.Message.QueuedAtUnixMs);
        }

        // One release per wait, not per message: a burst while the loop is busy wakes it once.
        if (Interlocked.Exchange(ref _wakeRequested, 1) == 0)
        {
            _signal.Release();
        }
    }

    private async Task RunAsync(CancellationToken stop, CancellationToken abort)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await StepAsync(stop, abort);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    // A store error (closing, a failed commit): nothing is lost, the messages are still queued in
                    // the store; back off as for any failure rather than spin.
                    ForwardingLog.WorkerFaulted(_engine.Logger, ex, _destination.Endpoint);
                    await CloseConnectionsAsync();
                    BackOff(ex, 0);
                }
            }
        }
        finally
        {
            await StopSettlingAsync();
            await CloseConnectionsAsync();
        }
    }

    private async Task StepAsync(CancellationToken stop, CancellationToken abort)
    {
        if (_settling.IsCompleted)
        {
            await AwaitSettlingAsync(); // a settle that failed backs the destination off before anything else is sent
        }

        var now = _engine.Time.GetUtcNow();
        await ExpireAsync(now);
        List<PendingSend>? round = null;
        DateTimeOffset? wakeAt = null;
        var backingOff = false;
        lock (_sync)
        {
            if (_ready.Count > 0)
            {
                if (now < _retryAt)
                {
                    backingOff = true;
                    wakeAt = Min(_retryAt, OldestDeadline());
                }
                else
                {
                    round = TakeReleased(now, out var nextRelease);
                    if (round is null)
                    {
                        wakeAt = Min(nextRelease!.Value, OldestDeadline());
                    }
                    else if (_ready.Count == 0)
                    {
                        _oldestQueuedAtUnixMs = long.MaxValue;
                    }
                }
            }
        }

        if (round is null)
        {
            if (!_settling.IsCompleted)
            {
                // Nothing to send yet: wait for the last round's settle, or for a message that arrives meanwhile,
                // which goes out at once rather than a commit later (its own settle still waits for this one).
                await WaitAsync(wakeAt, stop, _settling);
                return;
            }

            if (!backingOff)
            {
                // Nothing to send before a new message or a release time: idle connections would only be timed out
                // by the peer, and a release opens its own.
                await CloseConnectionsAsync();
            }

            await WaitAsync(wakeAt, stop);
            return;
        }

        try
        {
            await SendRoundAsync(round, abort);
        }
        catch
        {
            // The round did not finish (a store error, a stop): whatever the store still holds as queued goes back,
            // or it would wait for the next restart. One that was delivered but not yet settled is sent again.
            Requeue(round.FindAll(s => _engine.IsStillQueued(s.Message.SendId)), count: false);
            throw;
        }
    }

    private async Task SendRoundAsync(List<PendingSend> round, CancellationToken abort)
    {
        // Never forward what this relay could still lose: the sender has not been told "queued" before this.
        var latest = DurabilityTicket.None;
        foreach (var send in round)
        {
            latest = DurabilityTicket.Latest(latest, send.Ticket);
        }

        await _engine.Queue.WaitDurableAsync(latest, abort);

        using var timeout = new CancellationTokenSource(Options.SendTimeout, _engine.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, abort);
        var connectFailure = await FillPoolAsync(round.Count, linked.Token);
        if (_pool.Count == 0)
        {
            Requeue(round);
            BackOff(connectFailure!, 0);
            return;
        }

        var connections = _pool.ToArray();
        var sends = new Task[round.Count];
        for (var i = 0; i < round.Count; i++)
        {
            var message = round[i].Message;
            sends[i] = SendOneAsync(connections[i % connections.Length], message, linked.Token);
        }

        try
        {
            await Task.WhenAll(sends);
        }
        catch (Exception)
        {
            // Each send's outcome is read below, one by one.
        }

        var outcomes = new List<(PendingSend, OutboundState, ushort)>(round.Count);
        var again = new List<PendingSend>();
        var broken = new bool[connections.Length];
        Exception? transient = null;
        ushort transientCode = 0;
        var delivered = 0;
        for (var i = 0; i < round.Count; i++)
        {
            if (sends[i].IsCompletedSuccessfully)
            {
                outcomes.Add((round[i], OutboundState.Delivered, 0));
                delivered++;
                continue;
            }

            var error = sends[i].Exception?.InnerException ?? new OperationCanceledException("The send was cancelled.");
            switch (Failures.Classify(error, out var code, out var connectionBroken))
            {
                case AttemptResult.Refused:
                    outcomes.Add((round[i], OutboundState.Failed, code));
                    break;
                default:
                    again.Add(round[i]);
                    transient ??= error;
                    transientCode = transientCode == 0 ? code : transientCode;
                    break;
            }

            broken[i % connections.Length] |= connectionBroken;
        }

        for (var i = 0; i < connections.Length; i++)
        {
            if (broken[i])
            {
                _pool.Remove(connections[i]);
                await DisposeQuietlyAsync(connections[i]);
            }
        }

        _engine.CountForwarded(delivered);
        if (again.Count > 0)
        {
            Requeue(again);
            BackOff(transient!, transientCode);
        }
        else if (_failures > 0)
        {
            ForwardingLog.DestinationRecovered(_engine.Logger, _destination.Endpoint, _failures);
            _failures = 0;
            _retryAt = DateTimeOffset.MinValue;
        }

        await AwaitSettlingAsync();
        _settlingOutcomes = outcomes;
        _settling = _engine.SettleAsync(outcomes, _destination.Endpoint);
    }

    private static Task SendOneAsync(IPeerConnection connection, OutboundMessage message, CancellationToken ct) =>
        connection.SendAsync(message.EphemeralAddress, message.Ciphertext, ct);

    /// <summary>Opens connections up to what this round needs; returns the last connect failure (null if none).</summary>
    private async Task<Exception?> FillPoolAsync(int messages, CancellationToken ct)
    {
        var perConnection = Math.Max(1, Options.MaxInFlightPerDestination / Options.MaxConnectionsPerDestination);
        var wanted = Math.Min(Options.MaxConnectionsPerDestination, (messages + perConnection - 1) / perConnection);
        Exception? failure = null;
        while (_pool.Count < wanted)
        {
            try
            {
                _pool.Add(await _engine.Connector.ConnectAsync(_destination, ct));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested || _pool.Count == 0)
            {
                failure = ex;
                break;
            }
        }

        return failure;
    }

    /// <summary>
    /// Waits for a new message, or until <paramref name="wakeAt"/> on the engine's clock, or until
    /// <paramref name="orUntil"/> completes (its outcome is observed by the caller's next step).
    /// </summary>
    private async Task WaitAsync(DateTimeOffset? wakeAt, CancellationToken stop, Task? orUntil = null)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var signal = _signal.WaitAsync(cancel.Token);
        Task woken = orUntil is null ? signal : Task.WhenAny(signal, orUntil);
        if (wakeAt is { } at)
        {
            // Whole milliseconds, rounded up: timers run in milliseconds, and one firing a fraction early would
            // find the back-off not yet over and wait again for that fraction, on a clock that may not move.
            var delay = TimeSpan.FromMilliseconds(Math.Ceiling((at - _engine.Time.GetUtcNow()).TotalMilliseconds));
            if (delay > TimeSpan.Zero)
            {
                await Task.WhenAny(woken, Task.Delay(delay, _engine.Time, cancel.Token));
            }
        }
        else
        {
            await Task.WhenAny(woken);
        }

        await cancel.CancelAsync();

        // Whether this wait took the release decides the flag, so it is read from the wait's own outcome, once
        // known. Reading the task's state right after the cancellation lost wake-ups: a wait abandoned for the
        // settle or a timer may have taken a release whose task had not completed yet; the flag then stayed
        // set with no release to come, and the destination's queue stalled until a timer fired.
        try
        {
            await signal;
            Interlocked.Exchange(ref _wakeRequested, 0); // the next Add releases again; it lands in _ready before it does
        }
        catch (OperationCanceledException)
        {
            // Not taken: the release, if one comes, is still there for the next wait.
        }

        stop.ThrowIfCancellationRequested();
    }

    private void Requeue(List<PendingSend> sends, bool count = true)
    {
        lock (_sync)
        {
            foreach (var send in sends)
            {
                _ready[send.Order] = send;
                _oldestQueuedAtUnixMs = Math.Min(_oldestQueuedAtUnixMs, send.Message.QueuedAtUnixMs);
            }
        }

        if (count)
        {
            _engine.CountRetried(sends.Count);
        }
    }

    private void BackOff(Exception error, ushort code)
    {
        _failures++;
        var delay = Backoff.Delay(_failures, Options.InitialBackoff, Options.MaxBackoff, Random.Shared.NextDouble());
        _retryAt = _engine.Time.GetUtcNow().Add(delay);
        ForwardingLog.DestinationFailing(_engine.Logger, _destination.Endpoint, _failures, code, error.Message, delay);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private async Task CloseConnectionsAsync()
    {
        foreach (var connection in _pool)
        {
            await DisposeQuietlyAsync(connection);
        }

        _pool.Clear();
    }

    private static async Task DisposeQuietlyAsync(IPeerConnection connection)
    {
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or Client.RelayException or System.Net.Sockets.SocketException)
        {
            // Closing a broken connection: nothing to do about it.
        }
    }
}
