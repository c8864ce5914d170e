using System.Globalization;
using System.Net;
using EdgeRelay.Client;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Server;
using EdgeRelay.Server.Access;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The sending service forwarding to a receiving relay: a relationship manager hands relay A (sending role
/// only) each message with SEND_VIA, A queues it durably in its outbound log and acknowledges (SEND_QUEUED),
/// then forwards it as a SEND over its own pooled connections to relay B (receiving role), where the owner
/// takes it as from any sender. B is an <see cref="EdgeRelayTarget"/> (addresses, receivers, the owner), A is
/// started beside it in the same host kind (<c>--relay-host</c>).
/// </summary>
/// <remarks>
/// An operation of ingest completes at A's SEND_QUEUED (durable at A, nothing yet at B); of roundtrip and push,
/// when the owner has the message from B. Every SEND_QUEUED is counted, so a push run reports both A's
/// acknowledgements per second and arrivals at the owner.
/// The SEND_VIAs carry the queue's kept ephemeral address, which B resolves once and then from its cache
/// (primed before the warm-up); with <c>--fresh-ratio</c> above 0, that share carries a fresh address from B's
/// pool, and A holds B's peer token in <c>Forwarding:PeerTokens</c>, as an operator would configure it: A's
/// connections then spend B's peer budget of resolution misses, not an anonymous sender's (whose RATE_LIMITED
/// A would retry with back-off, unseen by the generator).
/// </remarks>
internal sealed class EdgeRelayForwardTarget : ILoadTarget, IServerUsage, IPushDelivery, IPollDelivery, IFreshAddressSource
{
    /// <summary>Whole-run sizes of A's outbound queue and the RM token's quotas: a throughput run, not a quota test.</summary>
    internal const int QueuedMessagesBudget = 50_000_000;

    internal const long QueuedBytesBudget = 1L << 40;

    /// <summary>The token's request rate and burst: far above what one machine's SEND_VIAs can reach.</summary>
    internal const int TokenRate = 10_000_000;

    private readonly EdgeRelayTarget _receiving = new();
    private RelayHost? _host;
    private PeerProcess? _process;
    private RelayMetricsScraper? _metrics;
    private string? _dataDir;
    private string? _tokensDir;
    private IPEndPoint? _endPoint;
    private string _token = "";
    private string _destination = "";
    private int _inFlight;
    private long _acked;

    public string Name => TargetCatalog.EdgeRelayForward;

    public string Label { get; private set; } = TargetCatalog.EdgeRelayForward;

    public string Durability => "ack: A's outbound log committed (fdatasync); receipt: stored durably at B first";

    public string Description { get; private set; } = TargetCatalog.EdgeRelayForward;

    public FreshAddressStats? FreshAddresses => _receiving.FreshAddresses;

    /// <summary>Relay B, the receiving one: its addresses, owners and receivers.</summary>
    internal EdgeRelayTarget Receiving => _receiving;

    /// <summary>Relay A's child process (<c>--relay-host process</c>); null in-process. The soak samples it.</summary>
    internal PeerProcess? Process => _process;

    /// <summary>SEND_QUEUED replies from A so far, whichever scenario.</summary>
    public long Acked => Interlocked.Read(ref _acked);

    public async Task StartAsync(RunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        _inFlight = settings.InFlight;
        await _receiving.StartAsync(settings, log, cancellationToken);
        _destination = _receiving.CardEndpoint;
        if (settings.Scenario != Scenarios.ScenarioCatalog.Ingest)
        {
            // EdgeRelayTarget primes only for ingest; here every SEND reaches B through A, whose connections
            // would otherwise spend their miss budget at B on the first SEND to each address.
            await EdgeRelayTarget.PrimeAsync(_receiving.EndPoint, _receiving.EphemeralAddresses, cancellationToken);
        }

        _tokensDir = Path.Combine(Path.GetTempPath(), "edgerelay-loadtest-tokens-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_tokensDir);
        var tokensFile = Path.Combine(_tokensDir, "tokens.json");
        using (var store = TokenStore.Open(tokensFile, new AccessOptions().DefaultLimits, TimeProvider.System))
        {
            _token = store.Create("loadtest-rm", TokenRole.Rm, Limits()).Secret;
        }

        var peerToken = _receiving.PeerToken;
        string[] sending = [.. SendingArguments(settings, tokensFile), .. RelaySettings.Arguments(settings.RelaySettings)];
        if (settings.RelayHost == EdgeRelayTarget.HostProcess)
        {
            string[] withPeerToken = peerToken is null ? sending : [.. sending, PeerTokenArgument(_destination, peerToken)];
            _process = await RelayProcess.StartAsync(EdgeRelayTarget.StartedRelayOptions, cancellationToken, withPeerToken);
            _endPoint = _process.EndPoint;
            _metrics = new RelayMetricsScraper(RelayProcess.MetricsUrl(_process));
            Description = $"edgerelay A (sending) pid {_process.ProcessId} on {_endPoint} forwarding to B: {_receiving.Description}";
        }
        else
        {
            _dataDir = Path.Combine(Path.GetTempPath(), "edgerelay-loadtest-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dataDir);
            var options = EdgeRelayTarget.StartedRelayOptions(_dataDir, "127.0.0.1:0", "127.0.0.1:0");
            foreach (var setting in sending.Select(a => a[2..]).Concat(settings.RelaySettings))
            {
                if (RelaySettings.Apply(options, setting) is { } problem)
                {
                    throw new LoadTestException(problem);
                }
            }

            if (peerToken is not null)
            {
                options.Forwarding.PeerTokens[_destination] = peerToken;
            }

            _host = await RelayHost.StartAsync(options, cancellationToken: cancellationToken);
            _endPoint = _host.RelayEndPoint;
            Description = $"edgerelay A (sending) in-process on {_endPoint} forwarding to B: {_receiving.Description}";
        }

        await RelayClientConnection.CheckServerAsync(_endPoint, settings.PayloadBytes, cancellationToken);
        log($"{Description}; RM token with {TokenRate:N0} requests/s, SEND_VIA to {_destination}, {_receiving.EphemeralAddresses.Length} cached address(es)"
            + (peerToken is null ? "" : ", fresh addresses from B's pool; A presents B's peer token"));
    }

    /// <summary>
    /// A's options: sending only, its outbound queue and the token defaults sized for the whole run, and as
    /// many connections and SENDs in flight to B as the generator keeps open to A, so that forwarding is not
    /// capped below what A is offered.
    /// </summary>
    internal static IEnumerable<string> SendingArguments(RunSettings settings, string tokensFile)
    {
        var c = CultureInfo.InvariantCulture;
        int inFlight = Math.Clamp(settings.Connections * settings.InFlight, 256, 65_536);
        yield return "--Roles:Receiving=false";
        yield return "--Roles:Sending=true";
        yield return "--Access:TokensFile=" + tokensFile;
        yield return "--Access:RequestsPerSecond=" + TokenRate.ToString(c);
        yield return "--Access:Burst=" + TokenRate.ToString(c);
        yield return "--Access:MaxQueuedMessages=" + QueuedMessagesBudget.ToString(c);
        yield return "--Access:MaxQueuedBytes=" + QueuedBytesBudget.ToString(c);
        yield return "--Forwarding:MaxQueuedMessages=" + QueuedMessagesBudget.ToString(c);
        yield return "--Forwarding:MaxQueuedBytes=" + QueuedBytesBudget.ToString(c);
        yield return "--Forwarding:MaxInFlightPerDestination=" + inFlight.ToString(c);
        yield return "--Forwarding:MaxConnectionsPerDestination=" + Math.Clamp(settings.Connections, 4, 64).ToString(c);
    }

    /// <summary>A's option holding B's peer token: the key is B's card endpoint, as an operator writes it.</summary>
    internal static string PeerTokenArgument(string destination, string token) => $"--Forwarding:PeerTokens:{destination}={token}";

    private static TokenLimits Limits() => new()
    {
        RequestsPerSecond = TokenRate,
        Burst = TokenRate,
        MaxQueuedMessages = QueuedMessagesBudget,
        MaxQueuedBytes = QueuedBytesBudget,
    };

    /// <summary>B's CPU and allocations as the server's; A's CPU and its SEND_QUEUED count beside them.</summary>
    public async Task<ServerUsageSample> SampleServerUsageAsync(CancellationToken cancellationToken)
    {
        long acked = Acked;
        var receiving = await _receiving.SampleServerUsageAsync(cancellationToken);
        var sendingCpu = _process?.ProcessorTime();
        return receiving with { ForwarderCpuTime = sendingCpu, ForwarderAcked = acked };
    }

    public async Task<ILoadConnection> ConnectAsync(int index, CancellationToken cancellationToken)
    {
        var client = await RelayClient.ConnectAsync(_endPoint ?? throw new InvalidOperationException("Not started."), new RelayClientOptions { MaxInFlight = _inFlight }, cancellationToken);
        try
        {
            await client.AuthenticateTokenAsync(_token, cancellationToken);
            return new ForwardConnection(this, client);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public Task<IAsyncDisposable> StartPushReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken) =>
        _receiving.StartPushReceiverAsync(queue, sink, cancellationToken);

    public Task<IAsyncDisposable> StartPollingReceiverAsync(int queue, IDeliverySink sink, CancellationToken cancellationToken) =>
        _receiving.StartPollingReceiverAsync(queue, sink, cancellationToken);

    public LoadError Classify(Exception error) => RelayClientConnection.Classify(error);

    public async ValueTask DisposeAsync()
    {
        _metrics?.Dispose();
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

        await _receiving.DisposeAsync();
        foreach (var dir in new[] { _dataDir, _tokensDir })
        {
            try
            {
                if (dir is not null)
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (IOException)
            {
                // Best effort, as for the relay's own folder.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        _dataDir = _tokensDir = null;
    }

    /// <summary>One RM connection to A, presenting the token; each send is a SEND_VIA to B's card endpoint, plain TCP (no pin).</summary>
    private sealed class ForwardConnection(EdgeRelayForwardTarget target, RelayClient client) : ILoadConnection
    {
        public ValueTask SendAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            SendViaAsync(target._receiving.EphemeralAddresses[queue], payload, cancellationToken);

        public ValueTask SendFreshAsync(int queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
            target._receiving.FreshPool is { } pool ? SendFromPoolAsync(pool, payload, cancellationToken) : SendAsync(queue, payload, cancellationToken);

        /// <summary>A's queue copies the address before SEND_QUEUED, so the slot goes back at once; B opens it when A forwards.</summary>
        private async ValueTask SendFromPoolAsync(FreshAddressPool pool, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            int slot = await pool.TakeAsync(cancellationToken);
            try
            {
                await SendViaAsync(pool.Address(slot), payload, cancellationToken);
            }
            finally
            {
                pool.Return(slot, unused: false);
            }
        }

        private async ValueTask SendViaAsync(ReadOnlyMemory<byte> ephemeralAddress, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            var state = await client.SendViaAsync(target._destination, ReadOnlyMemory<byte>.Empty, ephemeralAddress, payload, cancellationToken);
            if (state.State != SendStateKind.Queued)
            {
                throw new LoadTestException($"SEND_VIA answered {state.State}, not queued: {target._destination} was taken for A's own endpoint.");
            }

            Interlocked.Increment(ref target._acked);
        }

        public ValueTask DisposeAsync() => client.DisposeAsync();
    }
}
