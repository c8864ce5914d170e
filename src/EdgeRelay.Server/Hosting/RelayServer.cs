using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using EdgeRelay.Addressing;
using EdgeRelay.Attachments;
using EdgeRelay.Delivery;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Server.Webhooks;
using EdgeRelay.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>
/// One relay's shared state, built once and handed to every connection's <see cref="RelaySession"/>: the
/// storage, the service key and resolver, the push hub, the metrics, the card details; and the live
/// sessions (for idle time-outs and shutdown).
/// </summary>
/// <remarks>
/// Each part is built here from its dependencies (the storage contracts, the clock, options, a logger) and
/// knows nothing of this class: the push hub is given the storage and a clock, not the server.
/// </remarks>
public sealed partial class RelayServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, RelaySession> _sessions = new();
    private readonly ITimer _watchdog;
    private readonly CancellationTokenSource _storageFailed = new();
    private bool _storageHasFailed;
    private readonly bool _ownsStorage;
    private long _nextSessionId;
    private int _disposed;

    private RelayServer(EdgeRelayOptions options, IRelayStorage storage, bool ownsStorage, AttachmentStore attachments, ServiceKey serviceKey, TokenStore tokens, TimeProvider time, ILoggerFactory loggerFactory, IWakeupNotifier? notifier, X509Certificate2? certificate)
    {
        Tokens = tokens;
        InitialiseConfiguration(options);
        Attachments = attachments;

        // The store counts each token's attachment bytes (and recounts them from disk at a start); the
        // token mirrors the count so that whatever reports a token's usage sees attachments too.
        foreach (var token in tokens.List())
        {
            token.AddAttachment(attachments.UsedBytesOf(token.Id));
        }

        attachments.UsageChanged = (owner, delta) => tokens.FindById(owner)?.AddAttachment(delta);

        Notifier = notifier;
        AlternativeEndpoints = [.. options.Relay.AlternativeEndpoints];
        _alternativeExtensions = [.. AlternativeEndpoints.Select(AddressCard.AlternativeEndpoint)];
        _tls = certificate is null ? null : TlsIdentity.Of(certificate, _alternativeExtensions);
        Options = options;
        Storage = storage;
        _ownsStorage = ownsStorage;
        ServiceKey = serviceKey;
        Time = time;
        SignatureChecks = new SignatureCheckBudget(time);
        Logger = loggerFactory.CreateLogger("EdgeRelay.Relay");
        Resolver = new AddressResolver(serviceKey, new ResolverOptions
        {
            CacheCapacity = options.Relay.ResolutionCacheCapacity,
            MissesPerSecond = options.Relay.ResolveMissesPerSecond,
            MissBurst = options.Relay.ResolveMissBurst,
            PeerMissesPerSecond = options.Relay.PeerResolveMissesPerSecond,
            PeerMissBurst = options.Relay.PeerResolveMissBurst,
            AnonymousMissesPerSecond = options.Relay.AnonymousResolveMissesPerSecond,
            AnonymousMissBurst = options.Relay.AnonymousResolveMissBurst,
            Workers = options.Relay.ResolveWorkers,
            AnonymousQueueCapacity = options.Relay.ResolveQueueCapacity,
        });
        Resolution = new ResolutionPool(Resolver, Resolver.Options.EffectiveWorkers, time.TimestampFrequency, time.GetTimestamp());
        MaxRequestBody = ProtocolConstants.MaxRequestBody(options.Relay.MaxCiphertextBytes);
        MaxUploadChunk = UploadChunk.MaxData(MaxRequestBody);
        CardEndpoint = options.Relay.PublicEndpoint ?? options.Relay.Endpoint;
        AttachmentUrlPrefix = AttachmentOptions.UrlPrefix(options.Attachments.PublicBaseUrl ?? "http://" + options.Http.Endpoint);
        Push = new PushHub(
            storage,
            storage,
            storage,
            new DeliveryOptions
            {
                // A DELIVER frame's body: the address, a count, then each message with its header.
                MaxBatchBytes = options.Relay.MaxReplyBytes - ProtocolConstants.AddressIdLength - 2,
                PerMessageOverhead = DeliveredMessage.HeaderLength,
                MaxCredit = (uint)options.Relay.MaxPushCredit,
                WakeQuietPeriod = options.Notify.WakeQuietPeriod,
            },
            time,
            loggerFactory.CreateLogger("EdgeRelay.Delivery"),
            notifier,
            storage as IDeliveryCoordination);

        // Several nodes on one store: a message another node accepted is pushed by the node holding its owner's push
        // lease, a node that gains a lease pushes what waits, and an owner whose pushing node died is woken if messages wait.
        if (storage is ISharedStorage shared)
        {
            shared.RemoteArrival = Push.OnArrivedElsewhere;
        }

        if (storage is IDeliveryCoordination coordination)
        {
            coordination.PushChanged = Push.Poke;
            coordination.PushLost = Push.OnPushLost;
        }

        Metrics = new Metrics.RelayMetrics();
        Metrics.Attach(this);
        Metrics.CreateLimitMetrics();
        Metrics.CreateStorageEngineMetrics(storage);

        // One coarse timer for every connection (as Kestrel's heartbeat does) instead of a timer per read.
        _watchdog = time.CreateTimer(_ => CheckTimeouts(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public EdgeRelayOptions Options { get; }

    /// <summary>The relay's storage (the FASTER backend unless one was passed to <see cref="StartAsync"/>).</summary>
    public IRelayStorage Storage { get; }

    public ServiceKey ServiceKey { get; }

    public AddressResolver Resolver { get; }

    /// <summary>The workers that open addresses missing from the cache, and the budgets that admit them.</summary>
    public ResolutionPool Resolution { get; }

    public TimeProvider Time { get; }

    internal ILogger Logger { get; }

    /// <summary>This relay's Prometheus metrics (served by the host at /metrics).</summary>
    public Metrics.RelayMetrics Metrics { get; }

    /// <summary>The operator's access tokens (the sending service's clients and peer relays), reloaded when their file changes.</summary>
    public TokenStore Tokens { get; }

    /// <summary>The outbound queue and the forwarding engine (SEND_VIA); set once the relay is built.</summary>
    public RelayForwarding Forwarding { get; private init; } = null!;

    /// <summary>Push subscriptions and wake-ups.</summary>
    public PushHub Push { get; }

    /// <summary>Where wake-ups go; null when Notify:Enabled is false.</summary>
    public IWakeupNotifier? Notifier { get; }

    internal int MaxRequestBody { get; }

    /// <summary>Attachment blobs and uploads (under the data folder's <c>attachments/</c>).</summary>
    public AttachmentStore Attachments { get; }

    /// <summary>The largest UPLOAD_CHUNK data: what fits in <see cref="MaxRequestBody"/> after the chunk's header.</summary>
    internal int MaxUploadChunk { get; }

    /// <summary>Where attachments are served, up to and including <c>/a/</c>; the host rewrites it once a port-0 bind is known.</summary>
    public string AttachmentUrlPrefix { get; set; }

    /// <summary>The endpoint written into issued cards; the listener may rewrite it once a port-0 bind is known.</summary>
    public string CardEndpoint { get; set; }

    /// <summary>
    /// The other nodes of this relay's service (Relay:AlternativeEndpoints), written into issued cards and HELLO_REPLY
    /// after <see cref="CardEndpoint"/>, in the operator's order. Fixed until a restart.
    /// </summary>
    public IReadOnlyList<string> AlternativeEndpoints { get; }

    /// <summary>
    /// Whether a card naming <paramref name="endpoint"/> is one of this relay's service: its own card endpoint or an
    /// alternative one (ignoring case, PROTOCOL 4.13 "Local delivery"). The other nodes share this one's store, so a
    /// message for them is stored here.
    /// </summary>
    public bool IsOwnEndpoint(string endpoint)
    {
        if (string.Equals(endpoint, CardEndpoint, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var alternative in AlternativeEndpoints)
        {
            if (string.Equals(endpoint, alternative, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Set when the host begins to stop: sessions take no new requests, drain, and close.</summary>
    public bool IsShuttingDown { get; private set; }

    /// <summary>
    /// Cancelled once the storage reports a failure it cannot recover from while the relay runs (<see cref="Storage"/>'s
    /// <c>Failure</c>: a full disk, a device error), noticed within a second. The relay then stops taking requests;
    /// the host stops the process, so that a supervisor's restart recovers every acknowledged message.
    /// </summary>
    public CancellationToken StorageFailed => _storageFailed.Token;

    /// <summary>Whether <see cref="StorageFailed"/> was cancelled; still readable once the relay is disposed.</summary>
    public bool HasStorageFailed => Volatile.Read(ref _storageHasFailed);

    /// <summary>
    /// The failure of the relay's storage or of the sending service's outbound queue that neither can recover from
    /// while running; null while both work.
    /// </summary>
    public Exception? StorageFailure => Storage.Failure ?? Forwarding?.Queue.Failure;

    public int ConnectionCount => _sessions.Count;

    /// <summary>Validates the options, loads the TLS certificate and the service key, opens the storage, and builds the relay.</summary>
    /// <param name="notifier">Overrides the wake-up notifier (tests, other transports); by default a <see cref="WebhookNotifier"/> when Notify:Enabled.</param>
    /// <param name="storage">
    /// A storage the caller opened and keeps owning (tests run sessions over an in-memory one); by default the
    /// backend of the Storage section is opened here and closed with the relay.
    /// </param>
    /// <param name="outbound">An outbound queue the caller keeps owning; by default the storage backend's (see <see cref="StorageBackends.OpenOutboundQueueAsync"/>).</param>
    /// <param name="peers">How forwarding reaches other relays; by default the protocol client over TCP (and TLS).</param>
    public static async Task<RelayServer> StartAsync(
        EdgeRelayOptions options,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IWakeupNotifier? notifier = null,
        IRelayStorage? storage = null,
        IOutboundQueue? outbound = null,
        Forwarding.IPeerConnector? peers = null,
        CancellationToken cancellationToken = default)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        // The certificate first: a bad one must stop the start before anything is created on disk.
        var certificate = options.Tls.Enabled ? Tls.RelayCertificates.Load(options.Tls) : null;
        var dataDir = Path.GetFullPath(options.Storage.DataDir);
        Directory.CreateDirectory(dataDir);
        var serviceKey = string.IsNullOrEmpty(options.Relay.ServiceKeyFile)
            ? ServiceKey.LoadOrCreate(dataDir)
            : ServiceKey.LoadOrCreateFile(Path.GetFullPath(options.Relay.ServiceKeyFile));
        var ownsStorage = storage is null;
        TokenStore? tokens = null;
        AttachmentStore? attachments = null;
        RelayForwarding? forwarding = null;
        IOutboundQueue? ownedOutbound = null;
        try
        {
            // Before the storage opens: a token file that does not parse stops the start with its name.
            tokens = TokenStore.Open(options.Access.ResolveTokensFile(dataDir), options.Access.DefaultLimits, time, loggerFactory.CreateLogger("EdgeRelay.Access"), watch: true);
            storage ??= await StorageBackends.OpenAsync(options, dataDir, time, loggerFactory, cancellationToken);
            var replicas = await StorageBackends.OpenAttachmentReplicasAsync(options, storage, loggerFactory, cancellationToken);
            attachments = AttachmentStore.Open(Path.Combine(dataDir, "attachments"), options.Attachments.ToStoreOptions(), time, loggerFactory.CreateLogger("EdgeRelay.Attachments"), replicas);
            notifier ??= options.Notify.Enabled
                ? new WebhookNotifier(options.Notify, time, loggerFactory.CreateLogger("EdgeRelay.Notify"))
                : null;
            if (outbound is null)
            {
                ownedOutbound = outbound = await StorageBackends.OpenOutboundQueueAsync(options, storage, dataDir, time, loggerFactory, cancellationToken);
            }

            forwarding = RelayForwarding.Create(options, outbound, ownedOutbound is not null, tokens, time, loggerFactory, peers);
            var server = new RelayServer(options, storage, ownsStorage, attachments, serviceKey, tokens, time, loggerFactory, notifier, certificate) { Forwarding = forwarding };
            forwarding.Start();
            return server;
        }
        catch
        {
            if (forwarding is not null)
            {
                await forwarding.DisposeAsync();
            }
            else if (ownedOutbound is not null)
            {
                await ownedOutbound.DisposeAsync();
            }

            if (attachments is not null)
            {
                await attachments.DisposeAsync();
            }

            if (ownsStorage && storage is not null)
            {
                await storage.DisposeAsync();
            }

            tokens?.Dispose();
            serviceKey.Dispose();
            certificate?.Dispose();
            throw;
        }
    }

    internal long Register(RelaySession session)
    {
        Metrics.ConnectionsAccepted.Inc();
        var id = Interlocked.Increment(ref _nextSessionId);
        _sessions[id] = session;
        return id;
    }

    internal void Unregister(long id) => _sessions.TryRemove(id, out _);

    /// <summary>Stops taking new requests on every connection; each drains its durable replies and closes.</summary>
    public void BeginShutdown()
    {
        IsShuttingDown = true;
        foreach (var session in _sessions.Values)
        {
            session.RequestClose();
        }
    }

    private void CheckTimeouts()
    {
        if (StorageFailure is { } failure && !Volatile.Read(ref _storageHasFailed))
        {
            RelayLog.StorageFailed(Logger, failure.Message, failure);
            Volatile.Write(ref _storageHasFailed, true);
            BeginShutdown();
            _storageFailed.Cancel();
        }

        var now = Time.GetTimestamp();
        foreach (var session in _sessions.Values)
        {
            session.CheckTimeout(now);
        }

        Push.ExpireWakeMarks();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _watchdog.DisposeAsync();
        _storageFailed.Dispose();
        await Attachments.DisposeAsync();
        if (Notifier is not null)
        {
            await Notifier.DisposeAsync();
        }

        if (Forwarding is not null)
        {
            await Forwarding.DisposeAsync(); // stops forwarding (sends in flight get their grace) and closes the outbound log
        }

        if (_ownsStorage)
        {
            await Storage.DisposeAsync();
        }

        Tokens.Dispose();
        // Before the key: the workers open with it.
        Resolution.Dispose();
        ServiceKey.Dispose();
        TlsCertificate?.Dispose();
    }
}
