using System.Collections.Concurrent;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Forwarding;

/// <summary>
/// Forwards what the outbound queue holds to the receiving relays: one <see cref="DestinationWorker"/> per
/// destination (endpoint and pin), each with its own connections, back-off and maximum-age clock. Every
/// message ends settled in the queue exactly once (delivered, or failed with a code), and only then is its
/// sender told, through the callback given at construction.
/// </summary>
/// <remarks>
/// <para>Delivery is at least once: a message the receiving relay stored but whose OK was lost (a broken
/// connection, a crash of this relay before the settle record was durable) is sent again. Receivers
/// de-duplicate (PROTOCOL.md section 7), as they do for any sender that retries.</para>
/// <para>Built from what it needs (the queue contract, a connector, options, a clock, a logger), so it runs
/// in tests against the in-memory queue, a fake network and a fake clock.</para>
/// </remarks>
public sealed class ForwardingEngine : IAsyncDisposable
{
    private readonly Dictionary<string, DestinationWorker> _workers = [];
    private readonly Lock _workersLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Action<SendSettled>? _settled;
    private readonly ConcurrentDictionary<ushort, long> _failedByCode = new();

    // The messages this engine forwards (and counted, see Taken) until they settle, kept only for a queue several nodes
    // share (IOutboundDispatch), where not all it lists are this node's and another node may settle one. A queue of
    // one relay's own is all this engine's: nothing to track per message there.
    private readonly ConcurrentDictionary<long, byte> _mine = new();
    private readonly IOutboundDispatch? _dispatch;
    private long _adopted;
    private long _forwarded;
    private long _retried;
    private int _started;
    private int _stopped;

    public ForwardingEngine(IOutboundQueue queue, IPeerConnector connector, ForwardingOptions options, TimeProvider time, ILogger logger, Action<SendSettled>? settled = null)
    {
        Queue = queue;
        Connector = connector;
        Options = options;
        Time = time;
        Logger = logger;
        _settled = settled;
        _dispatch = queue as IOutboundDispatch;
        if (_dispatch is not null)
        {
            _dispatch.Adopted = Adopt;
            _dispatch.SettledElsewhere = OnSettledElsewhere;
        }
    }

    /// <summary>
    /// Told of messages the engine takes to forward that were queued before (at <see cref="Start"/>, what the last run
    /// left; later, what this node adopts from a dead node of its service), before it forwards them: the caller counts
    /// them against their senders' quotas. Messages queued through <see cref="SubmitAsync"/> are counted by its caller.
    /// </summary>
    public Action<IReadOnlyList<OutboundMessage>>? Taken { get; set; }

    /// <summary>Messages adopted from dead nodes of this service (a queue several nodes share).</summary>
    public long Adopted => Interlocked.Read(ref _adopted);

    public IOutboundQueue Queue { get; }

    /// <summary>Messages the receiving relays acknowledged as stored.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Attempts that failed in a way worth retrying (each message counted once per failed attempt).</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Messages settled as failed, by error code (UNDELIVERABLE for those past their maximum age).</summary>
    public IReadOnlyDictionary<ushort, long> FailedByCode => _failedByCode;

    /// <summary>Batched messages queued and waiting for their release time (PROTOCOL.md 4.17): a reading for metrics.</summary>
    public long HeldMessages
    {
        get
        {
            var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            lock (_workersLock)
            {
                return _workers.Values.Sum(w => (long)w.CountHeld(now));
            }
        }
    }

    internal IPeerConnector Connector { get; }

    internal ForwardingOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    /// <summary>
    /// Hands every queued message this node forwards (after a restart: what the last run left; on a shared queue, its
    /// own and what it adopted) to its destination's worker.
    /// </summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The forwarding engine is already started.");
        }

        // Started first: an adoption told from now on is taken by Adopt, one told before is listed here (the queue
        // says Forwards once its claim is in force, before it tells); Take keeps one of the two.
        var queued = Queue.GetQueued();
        var taken = Take(_dispatch is null ? queued : queued.Where(_dispatch.Forwards).ToList());

        int destinations;
        lock (_workersLock)
        {
            destinations = _workers.Count;
        }

        ForwardingLog.Started(Logger, taken, destinations);
    }

    /// <summary>
    /// Queues a message (see <see cref="IOutboundQueue.EnqueueAsync"/>) and, once it is queued, hands it to its
    /// destination's worker, which forwards it only after its ticket is durable. The caller acknowledges the
    /// sender once the returned ticket is durable.
    /// </summary>
    public async ValueTask<OutboundEnqueueResult> SubmitAsync(OutboundRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var result = await Queue.EnqueueAsync(request, cancellationToken);
        if (result.Status == OutboundEnqueueStatus.Queued && Volatile.Read(ref _stopped) == 0)
        {
            // The queue's own copy: its queue and release times are what a restart would list.
            var message = result.Message ?? throw new InvalidOperationException("The outbound queue queued a message without returning it.");
            Track(message.SendId);
            Worker(new PeerDestination(request.Endpoint, request.Pin)).Add(new PendingSend(message, result.Ticket));
        }

        return result;
    }

    /// <summary>
    /// Stops: no new attempt starts; SENDs in flight get <see cref="ForwardingOptions.StopGrace"/> to be
    /// answered, then are abandoned (they stay queued and go out after the next start). Call before closing the queue.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        if (_dispatch is not null)
        {
            // Nothing more is adopted or told once stopping: what stays queued is the next start's (or another node's).
            _dispatch.Adopted = null;
            _dispatch.SettledElsewhere = null;
        }

        await _stop.CancelAsync();
        Task[] loops;
        lock (_workersLock)
        {
            loops = _workers.Values.Select(w => w.Loop).ToArray();
        }

        var all = Task.WhenAll(loops);
        if (await Task.WhenAny(all, Task.Delay(Options.StopGrace)) != all)
        {
            await _abort.CancelAsync();
        }

        await all;
        long queued;
        try
        {
            queued = Queue.GetStatistics().QueuedMessages;
        }
        catch (ObjectDisposedException)
        {
            queued = -1;
        }

        ForwardingLog.Stopped(Logger, queued);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _abort.Dispose();
    }

    internal void CountForwarded(int count) => Interlocked.Add(ref _forwarded, count);

    /// <summary>Whether this engine still forwards <paramref name="sendId"/>: false once another node's settle of it is in force.</summary>
    internal bool IsMine(long sendId) => _dispatch is null || _mine.ContainsKey(sendId);

    /// <summary>Starts tracking a message this engine takes; false when it has it already (a shared queue's adoption told twice).</summary>
    private bool Track(long sendId) => _dispatch is null || _mine.TryAdd(sendId, 0);

    /// <summary>Stops tracking a settled message; true when this engine had it (and counted it).</summary>
    private bool Untrack(long sendId) => _dispatch is null || _mine.TryRemove(sendId, out _);

    /// <summary>Takes queued messages not taken yet: told to <see cref="Taken"/>, then handed to their workers. Returns how many.</summary>
    private int Take(IReadOnlyList<OutboundMessage> messages)
    {
        var taken = new List<OutboundMessage>(messages.Count);
        foreach (var message in messages)
        {
            if (Track(message.SendId))
            {
                taken.Add(message);
            }
        }

        if (taken.Count > 0)
        {
            Taken?.Invoke(taken);
        }

        foreach (var message in taken)
        {
            Worker(new PeerDestination(message.Endpoint, message.Pin)).Add(new PendingSend(message, DurabilityTicket.None));
        }

        return taken.Count;
    }

    /// <summary>The shared queue's adoption of a dead node's messages: forwarded from here (once started; before, <see cref="Start"/> lists them).</summary>
    private void Adopt(IReadOnlyList<OutboundMessage> messages)
    {
        if (Volatile.Read(ref _started) == 0 || Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        var taken = Take(messages.Where(m => IsStillQueued(m.SendId)).ToList());
        if (taken > 0)
        {
            Interlocked.Add(ref _adopted, taken);
            ForwardingLog.Adopted(Logger, taken);
        }
    }

    /// <summary>Another node's settle is in force: this engine stops forwarding it if it was, and the sender's watchers here are told.</summary>
    private void OnSettledElsewhere(OutboundStatus status, int length)
    {
        var counted = Untrack(status.SendId);
        _settled?.Invoke(new SendSettled(status.SendId, status.Owner, status.State, status.Code, length, counted));
    }

    /// <summary>Whether the queue still holds <paramref name="sendId"/> as queued; false too when it cannot say (closed).</summary>
    internal bool IsStillQueued(long sendId)
    {
        try
        {
            return Queue.TryGetStatus(sendId, out var status) && status.State == OutboundState.Queued;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    internal void CountRetried(int count) => Interlocked.Add(ref _retried, count);

    /// <summary>Settles messages in the queue (one write for all), waits until that is durable, then tells their senders.</summary>
    internal async Task SettleAsync(List<(PendingSend Send, OutboundState State, ushort Code)> outcomes, string destination)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        var settles = new OutboundSettle[outcomes.Count];
        for (var i = 0; i < settles.Length; i++)
        {
            var (send, state, code) = outcomes[i];
            settles[i] = new OutboundSettle(send.Message.SendId, state, code);
        }

        var results = new SettleStatus[settles.Length];
        var latest = await Queue.SettleManyAsync(settles, results);
        var told = new List<SendSettled>(outcomes.Count);
        for (var i = 0; i < results.Length; i++)
        {
            var (send, state, code) = outcomes[i];
            var message = send.Message;
            if (results[i] == SettleStatus.Settled)
            {
                var counted = Untrack(message.SendId); // false if another node's settle came first meanwhile
                told.Add(new SendSettled(message.SendId, message.Owner, state, code, message.Ciphertext.Length, counted));
            }
            else if (_dispatch is not null && _mine.TryRemove(message.SendId, out _))
            {
                // Settled by another node of a shared queue while this engine took it (an adoption or a submit racing
                // that settle, which then found nothing of this engine's to release): released here, as it stands
                // (as this engine saw it, if the queue can no longer say).
                var (inForce, inForceCode) = TryGetSettled(message.SendId, out var status) ? (status.State, status.Code) : (state, code);
                told.Add(new SendSettled(message.SendId, message.Owner, inForce, inForceCode, message.Ciphertext.Length));
            }
        }

        await Queue.WaitDurableAsync(latest);
        foreach (var settled in told)
        {
            // Only a shared queue can hold another node's settle of this message; one relay's own needs no second look.
            var inForce = settled;
            if (_dispatch is not null && TryGetSettled(settled.SendId, out var status) && (status.State, status.Code) != (settled.State, settled.Code))
            {
                // Another node's settle of the message came first in a shared queue: its state is the one in force, and
                // its sender was told it from there; this one only releases what it counted.
                if (!settled.CountedHere)
                {
                    continue;
                }

                inForce = settled with { State = status.State, Code = status.Code };
            }
            else if (settled.State == OutboundState.Failed)
            {
                _failedByCode.AddOrUpdate(settled.Code, 1, static (_, n) => n + 1);
                ForwardingLog.SendFailed(Logger, settled.SendId, destination, settled.Code);
            }

            _settled?.Invoke(inForce);
        }
    }

    /// <summary>The state a message settled with, in force in the queue; false while queued, or when the queue cannot say.</summary>
    private bool TryGetSettled(long sendId, out OutboundStatus status)
    {
        try
        {
            return Queue.TryGetStatus(sendId, out status) && status.State is OutboundState.Delivered or OutboundState.Failed;
        }
        catch (ObjectDisposedException)
        {
            status = default;
            return false;
        }
    }

    internal static ushort UndeliverableCode => (ushort)ErrorCode.Undeliverable;

    private DestinationWorker Worker(PeerDestination destination)
    {
        lock (_workersLock)
        {
            if (!_workers.TryGetValue(destination.Key, out var worker))
            {
                worker = new DestinationWorker(this, destination);
                _workers.Add(destination.Key, worker);
                worker.Start(_stop.Token, _abort.Token);
            }

            return worker;
        }
    }
}

/// <summary>A queued message on its way, with the ticket of its enqueue (none for one recovered from the log: it is durable).</summary>
internal sealed record PendingSend(OutboundMessage Message, DurabilityTicket Ticket)
{
    /// <summary>
    /// Its place in its destination's queue: by release time (a message forwarded at once is released when
    /// queued), then by send id for those, and by a random draw for batched ones, so that the messages of one
    /// release leave in an order that says nothing of the order they came in (PROTOCOL.md 4.17). Unique, since the
    /// send id is; drawn once, so that a message put back after a failed attempt keeps its place. The draw comes from
    /// the system's CSPRNG, not a seeded generator: the order is what the batched mode hides, so it must not be
    /// predictable from other draws.
    /// </summary>
    public (long ReleaseAtUnixMs, int Shuffle, long SendId) Order { get; } =
        (Message.ReleaseAtUnixMs, Message.IsHeld ? System.Security.Cryptography.RandomNumberGenerator.GetInt32(1, int.MaxValue) : 0, Message.SendId);
}
