namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A target whose queues can be drained by their receivers (<c>--scenario pull</c>): EdgeRelay PULL + ACK,
/// Redis <c>RPOP key count</c>, a JetStream pull consumer with explicit acks.
/// </summary>
internal interface IPullTarget : ILoadTarget
{
    /// <summary>
    /// Messages per second this target is expected to drain on this kind of machine: a planning figure that
    /// only sizes the default prefill (see <see cref="RunSettings.Prefill"/>), never a result.
    /// </summary>
    double PullRateEstimate { get; }

    /// <summary>Opens a receiving connection that drains queue <paramref name="queue"/> alone.</summary>
    Task<IPullConnection> ConnectPullerAsync(int queue, CancellationToken cancellationToken);
}

/// <summary>A receiver that drains one queue. Not thread-safe: one batch at a time.</summary>
internal interface IPullConnection : IAsyncDisposable
{
    /// <summary>
    /// Takes up to <paramref name="maxCount"/> messages from the queue, oldest first, and completes once the
    /// system has removed them (acknowledged, where the target has acks). Returns how many; 0 = the queue is empty.
    /// </summary>
    ValueTask<int> PullBatchAsync(int maxCount, CancellationToken cancellationToken);
}

/// <summary>Where a receiver hands each message it got; called from the receivers' own loops, concurrently.</summary>
internal interface IDeliverySink
{
    void OnDelivered(ReadOnlySpan<byte> payload);

    /// <summary>A receiver stopped on an error: the sends waiting for it fail with it, rather than time out.</summary>
    void OnReceiverFailed(Exception error);
}

/// <summary>
/// A target whose receivers fetch messages by asking (<c>--scenario roundtrip</c>): EdgeRelay PULL polling,
/// Redis BRPOP, a JetStream pull consumer.
/// </summary>
internal interface IPollDelivery : ILoadTarget
{
    /// <summary>Starts a receiver on queue <paramref name="queue"/> that runs until disposed, acknowledging what it hands to <paramref name="sink"/>.</summary>
    Task<IAsyncDisposable> StartPollingReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken);
}

/// <summary>
/// A target that sends messages to a subscribed receiver as they arrive (<c>--scenario push</c>): EdgeRelay
/// SUBSCRIBE/DELIVER with credit, a JetStream push consumer.
/// </summary>
internal interface IPushDelivery : ILoadTarget
{
    /// <summary>Subscribes a receiver to queue <paramref name="queue"/> until disposed, acknowledging what it hands to <paramref name="sink"/>.</summary>
    Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken);
}

/// <summary>
/// A push target whose one receiver can subscribe to many queues (EdgeRelay: one connection, one SUBSCRIBE per
/// address), so thousands of subscribed queues need no more connections than senders.
/// </summary>
internal interface IPushGroupDelivery : IPushDelivery
{
    /// <summary>Subscribes one receiver to every queue of <paramref name="queues"/> until disposed.</summary>
    Task<IAsyncDisposable> StartPushReceiverAsync(IReadOnlyList<int> queues, IDeliverySink sink, CancellationToken cancellationToken);
}

/// <summary>
/// A target that can say what its server has spent so far, so that a run can put a cost per message on the
/// server alone: a server in a process of its own (the relay's child process, redis-server, nats-server, a
/// relay at <c>--endpoint</c> with <c>--metrics</c>). A server inside the generator's process cannot: its CPU
/// and its GC heap are the generator's too.
/// </summary>
internal interface IServerUsage : ILoadTarget
{
    /// <summary>
    /// The server's cumulative CPU time and managed bytes allocated since it started, each null when unknown.
    /// Called twice a run, while load is applied (when the measured window opens, after the last reply), so it
    /// must be cheap for the server: no more than one metrics scrape.
    /// </summary>
    Task<ServerUsageSample> SampleServerUsageAsync(CancellationToken cancellationToken);
}

/// <summary>What a server had spent at one moment; <paramref name="Problem"/> says why a part is null when it should not be.</summary>
internal sealed record ServerUsageSample(TimeSpan? CpuTime, long? AllocatedBytes, string? Problem = null)
{
    /// <summary>Forwarding (<c>edgerelay-forward</c>): the sending relay's CPU, the server's being the receiving relay's.</summary>
    public TimeSpan? ForwarderCpuTime { get; init; }

    /// <summary>Forwarding: SEND_QUEUED replies the sending relay had given so far.</summary>
    public long? ForwarderAcked { get; init; }

    /// <summary>When it was taken (<see cref="TimeProvider.GetTimestamp"/>), for rates between two samples.</summary>
    public long Timestamp { get; init; }

    public static ServerUsageSample Unknown { get; } = new(null, null);
}

/// <summary>A target whose fresh SENDs need addresses derived by the generator (the relay): where they came from.</summary>
internal interface IFreshAddressSource : ILoadTarget
{
    /// <summary>Null when the run sent no fresh SEND (<c>--fresh-ratio 0</c>).</summary>
    FreshAddressStats? FreshAddresses { get; }
}
