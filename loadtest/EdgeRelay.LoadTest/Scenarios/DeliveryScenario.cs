using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>How the receivers of <see cref="DeliveryScenario"/> get their messages.</summary>
internal enum DeliveryMode
{
    /// <summary>The receiver asks (<c>roundtrip</c>): <see cref="IPollDelivery"/>.</summary>
    Poll,

    /// <summary>The server sends as messages arrive (<c>push</c>): <see cref="IPushDelivery"/>.</summary>
    Push,
}

/// <summary>
/// Sender to receiver: every operation sends one message and completes when a receiver has it. One receiver per
/// connection watches its own queue (setup, not measured); senders spread messages over the queues as in ingest.
/// Latency runs from the start of the send until the receiver has the message and the sender has its
/// acknowledgement, whichever is later (in practice the delivery: every target here stores before it delivers).
/// </summary>
/// <remarks>
/// The first 8 bytes of each payload carry the send's id, so the receiver can complete the right send whatever
/// the order of arrival. That costs a pooled buffer and a completion source per send: the generator's own
/// work, the same for every target.
/// </remarks>
internal sealed class DeliveryScenario(RunSettings settings, DeliveryMode mode) : IScenario, IDeliverySink
{
    private readonly PayloadSource _payloads = new(settings.PayloadBytes);
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();
    private readonly List<IAsyncDisposable> _receivers = [];
    private readonly int _queues = settings.Queues;

    private volatile Exception? _receiverFailure;

    // Ids start at a random point, so a message left over by another run on the same queues completes nothing.
    private long _nextId = Random.Shared.NextInt64(long.MaxValue / 2);

    public string Name => mode == DeliveryMode.Poll ? ScenarioCatalog.Roundtrip : ScenarioCatalog.Push;

    public int PayloadBytesPerMessage => _payloads.Length;

    public int InFlightPerConnection => settings.InFlight;

    public async Task PrepareAsync(ILoadTarget target, Action<string> log, CancellationToken cancellationToken)
    {
        // Each step checks the token itself: a target's call that completes without looking at it (a reply
        // already there, a client that does not take a token) must not keep Ctrl+C waiting for thousands of
        // receivers. What was started is in _receivers, which DisposeAsync stops.
        if (mode == DeliveryMode.Push && target is IPushGroupDelivery group)
        {
            // One receiver per sending connection, each subscribed to every queue it is dealt: many
            // subscribers, as many connections as senders.
            int receivers = PushReceivers(settings);
            for (int r = 0; r < receivers; r++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _receivers.Add(await group.StartPushReceiverAsync(PushQueuesOf(r, receivers, _queues), this, cancellationToken));
            }
        }
        else
        {
            for (int queue = 0; queue < _queues; queue++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _receivers.Add(await StartReceiverAsync(target, queue, cancellationToken));
            }
        }

        log($"{Name}: {_receivers.Count} receiver(s) {(mode == DeliveryMode.Poll ? "polling" : "subscribed to")} {_queues} queue(s)");
    }

    /// <summary>
    /// Receivers of a push run on a target that subscribes one receiver to many queues (<see cref="IPushGroupDelivery"/>):
    /// one per sending connection, or one per queue when there are fewer queues.
    /// </summary>
    internal static int PushReceivers(RunSettings settings) => Math.Min(settings.Connections, settings.Queues);

    /// <summary>The receiver queue <paramref name="queue"/> is dealt to: round-robin, so every receiver's share is even.</summary>
    internal static int PushReceiverOf(int queue, int receivers) => queue % receivers;

    /// <summary>The queues dealt to receiver <paramref name="receiver"/>, in order.</summary>
    internal static int[] PushQueuesOf(int receiver, int receivers, int queues) =>
        [.. Enumerable.Range(0, queues).Where(q => PushReceiverOf(q, receivers) == receiver)];

    public async Task<IScenarioConnection> ConnectAsync(ILoadTarget target, int index, CancellationToken cancellationToken) =>
        new Sender(this, await target.ConnectAsync(index, cancellationToken), index);

    public void OnDelivered(ReadOnlySpan<byte> payload)
    {
        if (payload.Length >= sizeof(long) && _waiting.TryRemove(BinaryPrimitives.ReadInt64LittleEndian(payload), out var arrived))
        {
            arrived.TrySetResult();
        }
    }

    public void OnReceiverFailed(Exception error)
    {
        _receiverFailure = error;
        foreach (var waiting in _waiting)
        {
            waiting.Value.TrySetException(error);
        }
    }

    /// <summary>All receivers at once: a Redis receiver may sit up to a second in BRPOP before it notices.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_receivers.Select(r => r.DisposeAsync().AsTask()));
        _receivers.Clear();
    }

    private Task<IAsyncDisposable> StartReceiverAsync(ILoadTarget target, int queue, CancellationToken cancellationToken) => (mode, target) switch
    {
        (DeliveryMode.Poll, IPollDelivery poll) => poll.StartPollingReceiverAsync(queue, this, cancellationToken),
        (DeliveryMode.Push, IPushDelivery push) => push.StartPushReceiverAsync(queue, this, cancellationToken),
        _ => throw new LoadTestException(ScenarioCatalog.UnsupportedReason(Name, target.Name) ?? $"{Name} is not supported by this target."),
    };

    private sealed class Sender(DeliveryScenario scenario, ILoadConnection connection, int index) : IScenarioConnection
    {
        public async ValueTask<int> ExecuteAsync(long sequence, CancellationToken cancellationToken)
        {
            if (scenario._receiverFailure is { } failure)
            {
                // The receiver's own error, so the target names it by its own code (e.g. CONNECTION_LOST).
                ExceptionDispatchInfo.Throw(failure);
            }

            int length = scenario._payloads.Length;
            long id = Interlocked.Increment(ref scenario._nextId);
            var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            scenario._waiting[id] = arrived;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                scenario._payloads.Get(sequence).Span.CopyTo(buffer);
                BinaryPrimitives.WriteInt64LittleEndian(buffer, id);
                await connection.SendAsync((int)((sequence + index) % scenario._queues), buffer.AsMemory(0, length), cancellationToken);
                await arrived.Task.WaitAsync(cancellationToken);
                return 1;
            }
            finally
            {
                scenario._waiting.TryRemove(id, out _);
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
