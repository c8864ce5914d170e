using System.Net;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Server.Access;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The relay itself, started fresh for the run with a temporary data folder (removed afterwards) either in its
/// own process (<c>--relay-host process</c>, the default: the relay executable on free loopback ports, see
/// <see cref="RelayProcess"/>) or in-process (a <see cref="RelayHost"/> on loopback port 0); or a running one
/// at <c>--endpoint</c>. Every SEND is acknowledged only once durable, so this measures the whole path:
/// framing, HPKE address resolution (cached), the FASTER log and group commit.
/// Receiving (pull, roundtrip) is in <c>EdgeRelayTarget.Receive.cs</c>; push delivery in <c>EdgeRelayTarget.Push.cs</c>.
/// </summary>
/// <remarks>
/// Durability: the relay acknowledges a SEND once its FASTER commit is done, and its log device follows each
/// write with <c>fdatasync</c>, so an acknowledged message survives power loss. Of the peers, only Redis with
/// <c>appendfsync always</c> promises as much; compare with that row.
/// </remarks>
internal sealed partial class EdgeRelayTarget : ILoadTarget, IServerUsage, IFreshAddressSource
{
    /// <summary><c>--relay-host</c>: the relay executable as a child process, with its own GC heap and CPU account.</summary>
    public const string HostProcess = "process";

    /// <summary><c>--relay-host</c>: a <see cref="RelayHost"/> inside the generator, sharing its process.</summary>
    public const string HostInProcess = "in-process";

    /// <summary>
    /// Fresh connections each get a full HPKE-miss budget (Relay:ResolveMissBurst, 100 by default), so the
    /// cache is primed through one short-lived connection per this many addresses, never RATE_LIMITED.
    /// </summary>
    private const int PrimingAddressesPerConnection = 100;

    /// <summary>Addresses outlive the run by far, and still expire on their own if the relay is a shared one.</summary>
    private static readonly TimeSpan AddressLifetime = TimeSpan.FromDays(1);

    private RelayHost? _host;
    private string? _dataDir;
    private PeerProcess? _process;
    private RelayMetricsScraper? _metrics;
    private IPEndPoint? _endPoint;
    private ReadOnlyMemory<byte>[] _ephemeralAddresses = [];
    private FreshAddressPool? _fresh;
    private string? _peerToken;
    private string? _cardEndpoint;
    private int _inFlight;

    public string Name => IsCluster ? TargetCatalog.EdgeRelayCluster : TargetCatalog.EdgeRelay;

    /// <summary>
    /// The name, with the <c>--relay-setting</c>s of the run when it changed any (another relay's figures) and
    /// for a cluster its nodes and replicas.
    /// </summary>
    public string Label { get; private set; } = TargetCatalog.EdgeRelay;

    public string Durability => IsCluster
        ? "JetStream PubAck: stored by a majority of the stream's servers (file store, fsync every 2 min)"
        : "FASTER log, commit (write + fdatasync) before the ack";

    public string Description { get; private set; } = TargetCatalog.EdgeRelay;

    public FreshAddressStats? FreshAddresses => _fresh?.Stats;

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        _inFlight = settings.InFlight;
        var labels = new List<string>(IsCluster ? ClusterLabels(settings) : []);
        labels.AddRange(settings.RelaySettings);
        if (settings.PushWindow is { } window)
        {
            _pushPolicy = DeliveryPolicy.Batched(window);
            labels.Add("push " + _pushPolicy);
        }

        Label = labels.Count > 0 ? $"{Name} ({string.Join(", ", labels)})" : Name;
        if (IsCluster)
        {
            await StartClusterAsync(settings, cancellationToken);
            _endPoint = _endPoints[0];
        }
        else if (settings.Endpoint is null && settings.RelayHost == HostProcess)
        {
            _process = await RelayProcess.StartAsync(StartedRelayOptions, cancellationToken, RelaySettings.Arguments(settings.RelaySettings));
            _endPoint = _process.EndPoint;
            _metrics = new RelayMetricsScraper(RelayProcess.MetricsUrl(_process));
            Description = $"edgerelay pid {_process.ProcessId} on {_endPoint} (data in {_process.DataDir})";
        }
        else if (settings.Endpoint is null)
        {
            _dataDir = Path.Combine(Path.GetTempPath(), "edgerelay-loadtest-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dataDir);
            var options = StartedRelayOptions(_dataDir, "127.0.0.1:0", "127.0.0.1:0");
            foreach (var setting in settings.RelaySettings)
            {
                if (RelaySettings.Apply(options, setting) is { } problem)
                {
                    throw new LoadTestException(problem);
                }
            }

            _host = await RelayHost.StartAsync(options, cancellationToken: cancellationToken);
            _endPoint = _host.RelayEndPoint;
            Description = $"edgerelay in-process on {_endPoint} (data in {_dataDir})";
        }
        else
        {
            _endPoint = await Endpoints.ResolveAsync(settings.Endpoint, settings.AllowRemote, cancellationToken);
            Description = $"edgerelay at {settings.Endpoint} ({_endPoint})";
            if (settings.Metrics is { } metrics)
            {
                _metrics = new RelayMetricsScraper(await Endpoints.CheckMetricsUrlAsync(metrics, settings.AllowRemote, cancellationToken));
                Description += $", metrics from {_metrics.Url}";
            }
        }

        // Fresh addresses are a sending service's traffic: forwarded over a few connections that present a
        // peer token, which gives them the relay's peer budget of misses instead of an anonymous sender's.
        // Only for a relay the run started (its token file is known); a relay at --endpoint is measured as is.
        var dataDir = _process?.DataDir ?? _dataDir;
        if (settings.FreshRatio > 0 && dataDir is not null)
        {
            var access = new EdgeRelayOptions().Access;
            using var tokens = TokenStore.Open(access.ResolveTokensFile(dataDir), access.DefaultLimits, TimeProvider.System);
            _peerToken = tokens.Create("loadtest-peer", TokenRole.Peer).Secret;
            Description += ", connections present a peer token";
        }

        if (_endPoints.Length == 0)
        {
            _endPoints = [_endPoint];
        }

        await RelayClientConnection.CheckServerAsync(_endPoint, settings.PayloadBytes, cancellationToken);
        log($"{Description}: creating {settings.Queues} address(es)");
        var cards = await CreateAddressesAsync(_endPoint, settings.Queues, cancellationToken);
        _addressIds = Array.ConvertAll(cards, c => c.Id);
        _cardEndpoint = cards[0].Card.Endpoint;

        // One ephemeral address per long-term address, reused for every send that is not fresh: the relay
        // resolves it once (one X25519) and then from its cache, which is the steady state of a sender that
        // keeps its address. With every send fresh there is none to keep.
        var validFor = settings.Warmup + settings.Duration + TimeSpan.FromHours(1);
        bool keepsAddresses = settings.FreshRatio < 1;
        _ephemeralAddresses = new ReadOnlyMemory<byte>[keepsAddresses ? cards.Length : 0];
        for (int i = 0; i < _ephemeralAddresses.Length; i++)
        {
            _ephemeralAddresses[i] = RelayClient.DeriveEphemeralAddress(cards[i].Card, validFor);
        }

        if (settings.FreshRatio > 0)
        {
            log(FormattableString.Invariant($"{Description}: deriving {settings.FreshPool:N0} fresh ephemeral addresses before the warm-up (not measured)"));
            _fresh = await Task.Run(() => FreshAddressPool.Create(Array.ConvertAll(cards, c => c.Card), settings.FreshPool, validFor, cancellationToken), cancellationToken);
            log(FormattableString.Invariant(
                $"{Description}: {settings.FreshPool:N0} derived in {_fresh.PreDerivationTime.TotalSeconds:0.0} s, {_fresh.PreDerivationCpu.TotalMicroseconds / settings.FreshPool:0.0} µs of the generator's CPU each"));
        }

        // Receiving scenarios warm the cache with their own sends before measuring (pull's prefill, the
        // others' warm-up); a primer there would be a stray message in every queue, pulled and counted. Push
        // is primed too: its thousands of addresses would otherwise meet the relay's budget of resolution
        // misses in the warm-up, and a primer is only a backlog message its receiver acks on SUBSCRIBE (its
        // id matches no send, so it completes nothing).
        if (settings.Scenario is Scenarios.ScenarioCatalog.Ingest or Scenarios.ScenarioCatalog.Push && keepsAddresses)
        {
            // Every node keeps its own resolution cache.
            foreach (var node in _endPoints)
            {
                await PrimeAsync(node, _ephemeralAddresses, cancellationToken);
            }
        }
    }

    /// <summary>
    /// The child's CPU from the kernel and its allocations from its metrics; a relay at <c>--endpoint</c> both
    /// from its metrics (when <c>--metrics</c> names them); an in-process relay nothing, as its heap and CPU
    /// are the generator's.
    /// </summary>
    public async Task<ServerUsageSample> SampleServerUsageAsync(CancellationToken cancellationToken)
    {
        if (IsCluster)
        {
            return await SampleClusterUsageAsync(cancellationToken);
        }

        if (_metrics is null)
        {
            return ServerUsageSample.Unknown;
        }

        if (_process is null)
        {
            return await _metrics.ScrapeAsync(cancellationToken);
        }

        // The kernel's count first: the scrape's own work then falls after this reading, as the relay's
        // allocation counter is read before it renders the scrape.
        var cpu = _process.ProcessorTime();
        var scraped = await _metrics.ScrapeAsync(cancellationToken);
        return new ServerUsageSample(cpu, scraped.AllocatedBytes, cpu is null ? "the relay process has exited" : scraped.AllocatedBytes is null ? scraped.Problem : null);
    }

    public async Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken) =>
        await RelayClientConnection.ConnectAsync(
            NodeFor(index), _inFlight, _ephemeralAddresses, cancellationToken, _fresh, _peerToken);

    public LoadError Classify(Exception error) => RelayClientConnection.Classify(error);

    /// <summary>The endpoint this relay writes into its cards: where a sending relay forwards to.</summary>
    internal string CardEndpoint => _cardEndpoint ?? throw new InvalidOperationException("Not started.");

    /// <summary>The fresh ephemeral addresses of the run (null with <c>--fresh-ratio 0</c>).</summary>
    internal FreshAddressPool? FreshPool => _fresh;

    /// <summary>The peer token this relay issued for the run's fresh addresses (null with <c>--fresh-ratio 0</c>).</summary>
    internal string? PeerToken => _peerToken;

    /// <summary>The kept ephemeral address of each queue (none with every SEND fresh).</summary>
    internal ReadOnlyMemory<byte>[] EphemeralAddresses => _ephemeralAddresses;

    internal IPEndPoint EndPoint => _endPoint ?? throw new InvalidOperationException("Not started.");

    /// <summary>The relay's child process (<c>--relay-host process</c>); null in-process or at an endpoint. The soak samples it.</summary>
    internal PeerProcess? Process => _process;

    /// <summary>The relay a run starts, in either host: loopback, a temporary data folder, quotas lifted.</summary>
    internal static EdgeRelayOptions StartedRelayOptions(string dataDir, string relayEndpoint, string httpEndpoint)
    {
        var options = QuotaFreeRelayOptions(dataDir, relayEndpoint, httpEndpoint);

        // The same for the abuse limits: a run is many connections from one address, each sending as fast as it can.
        options.Limits.MaxConnections = 0;
        options.Limits.MaxConnectionsPerIp = 0;
        options.Limits.SendsPerSecondPerConnection = 0;

        // And push runs with many subscribers authenticate them all at once, over a few connections.
        options.Limits.SignatureChecksPerSecondPerConnection = 0;
        options.Limits.SignatureChecksPerSecond = 0;
        return options;
    }

    /// <summary>
    /// Loopback endpoints and a data folder with the storage quotas lifted, every other option the relay's default.
    /// An ingest run stores everything it is sent and acks nothing: the relay's quotas (100,000 messages per
    /// address, a 16 GiB disk budget) would turn a throughput run into a quota test.
    /// </summary>
    internal static EdgeRelayOptions QuotaFreeRelayOptions(string dataDir, string relayEndpoint, string httpEndpoint)
    {
        var options = new EdgeRelayOptions();
        options.Relay.Endpoint = relayEndpoint;
        options.Http.Endpoint = httpEndpoint;
        options.Storage.DataDir = dataDir;
        options.Storage.MaxPendingMessagesPerAddress = 100_000_000;
        options.Storage.MaxPendingBytesPerAddress = 1L << 50;
        options.Storage.MaxDiskBytes = 0;
        return options;
    }

    private async Task<CreatedAddress[]> CreateAddressesAsync(IPEndPoint endPoint, int count, CancellationToken cancellationToken)
    {
        const int Batch = 128;
        var owner = _owner.PublicKey;
        await using var client = await RelayClient.ConnectAsync(endPoint, new RelayClientOptions { MaxInFlight = Batch }, cancellationToken);
        var created = new CreatedAddress[count];
        for (int start = 0; start < count; start += Batch)
        {
            var batch = new Task<CreatedAddress>[Math.Min(Batch, count - start)];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = client.CreateAddressAsync(owner, AddressLifetime, cancellationToken);
            }

            (await Task.WhenAll(batch)).CopyTo(created, start);
        }

        return created;
    }

    /// <summary>Sends one small message to every ephemeral address, so the run starts with a warm resolution cache.</summary>
    internal static async Task PrimeAsync(IPEndPoint endPoint, ReadOnlyMemory<byte>[] ephemeralAddresses, CancellationToken cancellationToken)
    {
        var payload = new byte[16];
        var chunks = ephemeralAddresses.Chunk(PrimingAddressesPerConnection);
        await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (chunk, token) =>
        {
            await using var client = await RelayClient.ConnectAsync(endPoint, new RelayClientOptions { MaxInFlight = PrimingAddressesPerConnection }, token);
            var sends = new Task[chunk.Length];
            for (int i = 0; i < chunk.Length; i++)
            {
                sends[i] = PrimeOneAsync(client, chunk[i], payload, token);
            }

            await Task.WhenAll(sends);
        });
    }

    private static async Task PrimeOneAsync(RelayClient client, ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await client.SendAsync(ephemeralAddress, payload, cancellationToken);
                return;
            }
            catch (RelayException ex) when (ex.Code == ErrorCode.RateLimited && attempt < 20)
            {
                // A relay configured with a smaller burst: wait for its bucket to refill.
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pollTicker?.Dispose();
        _pollTicker = null;
        _fresh?.Dispose();
        _owner.Dispose();
        _metrics?.Dispose();
        _metrics = null;
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }

        await DisposeClusterAsync();
        if (_dataDir is not null)
        {
            try
            {
                Directory.Delete(_dataDir, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder left behind is not worth failing the run's report over.
            }
            catch (UnauthorizedAccessException)
            {
            }

            _dataDir = null;
        }
    }
}
