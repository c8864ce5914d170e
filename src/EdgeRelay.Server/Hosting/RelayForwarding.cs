using EdgeRelay.Forwarding;
using EdgeRelay.Server.Access;
using EdgeRelay.Storage;
using EdgeRelay.Storage.Faster;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>
/// The sending service's forwarding side of one relay: the outbound queue (a FASTER log in the data folder's
/// <c>outbound/</c>, or a stream on the JetStream cluster, see <see cref="StorageBackends"/>), the <see cref="ForwardingEngine"/> over it, the connections watching
/// their token's sends (WATCH_SENDS), and what a settled send changes: its token's queued quota, and a
/// SEND_STATE push to every watching connection of that token.
/// </summary>
public sealed class RelayForwarding : IAsyncDisposable
{
    private readonly Dictionary<string, List<RelaySession>> _watchers = new(StringComparer.Ordinal);
    private readonly Lock _watchersLock = new();
    private readonly TokenStore _tokens;
    private readonly bool _ownsQueue;
    private int _disposed;

    private RelayForwarding(IOutboundQueue queue, bool ownsQueue, IPeerConnector connector, ForwardingOptions options, TokenStore tokens, TimeProvider time, ILogger logger)
    {
        Queue = queue;
        _ownsQueue = ownsQueue;
        _tokens = tokens;
        Engine = new ForwardingEngine(queue, connector, options, time, logger, OnSettled);
    }

    /// <summary>The outbound log's folder under the data folder.</summary>
    public const string QueueFolder = "outbound";

    public IOutboundQueue Queue { get; }

    public ForwardingEngine Engine { get; }

    /// <summary>
    /// Builds the engine over <paramref name="queue"/>, the queue <see cref="StorageBackends"/> opened for the storage backend
    /// (disposed with this when <paramref name="ownsQueue"/>); <see cref="Start"/> starts it.
    /// </summary>
    public static RelayForwarding Create(EdgeRelayOptions options, IOutboundQueue queue, bool ownsQueue, TokenStore tokens, TimeProvider time, ILoggerFactory loggerFactory, IPeerConnector? connector)
    {
        var engineOptions = options.Forwarding.EngineOptions(options.Relay.ShutdownTimeout / 2);
        return new RelayForwarding(queue, ownsQueue, connector ?? new RelayPeerConnector(engineOptions), engineOptions, tokens, time, loggerFactory.CreateLogger("EdgeRelay.Forwarding"));
    }

    /// <summary>The outbound queue's limits, from the Forwarding section, whatever the backend.</summary>
    public static OutboundLimits QueueLimits(EdgeRelayOptions options) => new()
    {
        MaxQueuedMessages = options.Forwarding.MaxQueuedMessages,
        MaxQueuedBytes = options.Forwarding.MaxQueuedBytes,

        // Per-token quotas are the tokens' own (Access section, QUOTA_TOKEN), checked before the queue is asked.
        MaxQueuedPerOwner = int.MaxValue,
        SettledRetention = options.Forwarding.SettledRetention,
    };

    /// <summary>The outbound log's options: its limits from the Forwarding section, its page sized for the largest ciphertext.</summary>
    public static FasterOutboundQueueOptions QueueOptions(EdgeRelayOptions options, string dataDir)
    {
        var pageBits = FasterOutboundQueueOptions.PageSizeBitsFor(options.Relay.MaxCiphertextBytes, 20);
        var queue = new FasterOutboundQueueOptions
        {
            Directory = Path.Combine(dataDir, QueueFolder),
            MaxPayloadBytes = options.Relay.MaxCiphertextBytes,
            PageSizeBits = pageBits,
            MemorySizeBits = pageBits + 3,
            SegmentSizeBits = Math.Max(pageBits, 26),
            MaintenanceInterval = options.Storage.MaintenanceInterval,
            TruncateDamagedLog = options.Storage.TruncateDamagedLog,
        };
        QueueLimits(options).CopyLimitsTo(queue);
        return queue;
    }

    /// <summary>
    /// Starts forwarding what the last run left queued (on a cluster: what this node forwards, its own and what it
    /// adopts from dead nodes later), counting each message against its token's quota as the engine takes it.
    /// </summary>
    public void Start()
    {
        Engine.Taken = CountTaken;
        Engine.Start();
    }

    private void CountTaken(IReadOnlyList<OutboundMessage> messages)
    {
        // A lookup by id per message: an adoption is told on the cluster's follower thread, which must not stall.
        foreach (var message in messages)
        {
            _tokens.FindById(message.Owner)?.AddQueued(message.Ciphertext.Length);
        }
    }

    /// <summary>From now on <paramref name="session"/> is told when a send of <paramref name="owner"/> settles.</summary>
    internal void Watch(string owner, RelaySession session)
    {
        lock (_watchersLock)
        {
            if (!_watchers.TryGetValue(owner, out var sessions))
            {
                _watchers[owner] = sessions = [];
            }

            if (!sessions.Contains(session))
            {
                sessions.Add(session);
            }
        }
    }

    internal void Unwatch(string owner, RelaySession session)
    {
        lock (_watchersLock)
        {
            if (_watchers.TryGetValue(owner, out var sessions) && sessions.Remove(session) && sessions.Count == 0)
            {
                _watchers.Remove(owner);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Engine.DisposeAsync();
        if (_ownsQueue)
        {
            await Queue.DisposeAsync();
        }
    }

    private void OnSettled(SendSettled settled)
    {
        // Once per forwarded message: a lookup by id, not a sorted copy of every token. Only what this node counted:
        // on a cluster another node may have settled a message this node never forwarded (its watchers are told here).
        if (settled.CountedHere)
        {
            _tokens.FindById(settled.Owner)?.ReleaseQueued(settled.Length);
        }

        RelaySession[] sessions;
        lock (_watchersLock)
        {
            if (!_watchers.TryGetValue(settled.Owner, out var list))
            {
                return;
            }

            sessions = [.. list];
        }

        foreach (var session in sessions)
        {
            session.PushSendState(settled);
        }
    }
}
