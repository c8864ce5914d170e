using System.Globalization;
using System.Net;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// <c>edgerelay-cluster</c>: the relay as <see cref="RunSettings.Nodes"/> processes serving as one service (one
/// service key file, the JetStream backend on one stream prefix) on a cluster of <see cref="RunSettings.NatsNodes"/>
/// nats-servers, all started for the run on loopback. Senders are dealt over the nodes by connection number and
/// receivers by the order they start, so that a message is as likely accepted on one node as pushed from another
/// (which it reaches through that node's stream follower): the service's path, not one node's.
/// </summary>
/// <remarks>
/// Durability: a node acknowledges a SEND once JetStream acknowledged the write, i.e. once a majority of the
/// stream's R servers stored it; nats-server 2.9.10 writes its file store without fsync (every 2 min), so this
/// survives the loss of a server, not of the machine.
/// </remarks>
internal sealed partial class EdgeRelayTarget
{
    /// <summary>The streams of a run's service: its cluster is its own, so the name need not be unique.</summary>
    private const string ClusterStreamPrefix = "LOADTEST";

    private NatsServers? _nats;
    private readonly List<PeerProcess> _nodes = [];
    private RelayMetricsScraper[] _nodeMetrics = [];
    private IPEndPoint[] _endPoints = [];
    private int _receiversStarted;

    /// <summary>Whether this is <c>edgerelay-cluster</c> (see <see cref="Cluster"/>).</summary>
    private bool IsCluster { get; init; }

    /// <summary>The target <c>edgerelay-cluster</c>; <c>new EdgeRelayTarget()</c> is the single FASTER relay.</summary>
    public static EdgeRelayTarget Cluster() => new() { IsCluster = true };

    /// <summary>The relay nodes' endpoints, in start order (one for the single relay).</summary>
    internal IReadOnlyList<IPEndPoint> EndPoints => _endPoints;

    /// <summary>The relay nodes' processes (edgerelay-cluster), for tests that check nothing outlives the run.</summary>
    internal IReadOnlyList<PeerProcess> Nodes => _nodes;

    /// <summary>The folder of the service key and token file every node shares (edgerelay-cluster), deleted on disposal.</summary>
    internal string? ClusterDirectory => IsCluster ? _dataDir : null;

    /// <summary>The nats-servers (edgerelay-cluster), null before the start and after disposal.</summary>
    internal NatsServers? NatsServers => _nats;

    /// <summary>The node for sender or receiver number <paramref name="index"/>: round-robin.</summary>
    private IPEndPoint NodeFor(int index) =>
        _endPoints.Length == 0 ? throw new InvalidOperationException("Not started.") : _endPoints[index % _endPoints.Length];

    /// <summary>The node for the next receiver that starts: receivers are dealt round-robin as senders are.</summary>
    private IPEndPoint NextReceiverNode() => NodeFor(Interlocked.Increment(ref _receiversStarted) - 1);

    /// <summary>What sets the row apart from the single relay's: nodes, and the cluster its streams live on.</summary>
    private static IEnumerable<string> ClusterLabels(RunSettings settings)
    {
        var c = CultureInfo.InvariantCulture;
        yield return string.Create(c, $"{settings.Nodes} node{(settings.Nodes == 1 ? "" : "s")}");
        yield return string.Create(c, $"nats x{settings.NatsNodes}, R{settings.NatsNodes}");
        if (settings.Partitions > 1)
        {
            yield return string.Create(c, $"{settings.Partitions} partitions");
        }
    }

    /// <summary>The cluster's own options (refused for other targets), and what a cluster the run starts cannot be.</summary>
    internal static IEnumerable<string> ClusterProblems(RunSettings settings, string target)
    {
        if (target == TargetCatalog.NatsCluster)
        {
            if (settings.Nodes != 1 || settings.Partitions != 1)
            {
                yield return "--nodes, --partitions: apply to --target edgerelay-cluster only (nats-cluster takes --nats-nodes).";
            }

            if (settings.NatsNodes is not (1 or 3 or 5))
            {
                yield return $"--nats-nodes: {settings.NatsNodes.ToString(CultureInfo.InvariantCulture)} is not 1, 3 or 5 (a stream's replicas; a majority of an odd number survives a loss).";
            }

            if (settings.Endpoint is not null)
            {
                yield return "--endpoint: nats-cluster starts its nats-servers for the run.";
            }

            yield break;
        }

        if (target != TargetCatalog.EdgeRelayCluster)
        {
            if (settings.Nodes != 1 || settings.NatsNodes != 3 || settings.Partitions != 1)
            {
                yield return "--nodes, --nats-nodes, --partitions: apply to --target edgerelay-cluster only (--nats-nodes to nats-cluster too).";
            }

            yield break;
        }

        if (settings.Nodes is < 1 or > RunSettings.MaxNodes)
        {
            yield return $"--nodes: {settings.Nodes.ToString(CultureInfo.InvariantCulture)} is out of range [1, {RunSettings.MaxNodes.ToString(CultureInfo.InvariantCulture)}].";
        }

        if (settings.NatsNodes is not (1 or 3 or 5))
        {
            yield return $"--nats-nodes: {settings.NatsNodes.ToString(CultureInfo.InvariantCulture)} is not 1, 3 or 5 (a stream's replicas; a majority of an odd number survives a loss).";
        }

        if (settings.Partitions is < 1 or > 64)
        {
            yield return $"--partitions: {settings.Partitions.ToString(CultureInfo.InvariantCulture)} is out of range [1, 64].";
        }

        if (settings.Endpoint is not null)
        {
            yield return "--endpoint: edgerelay-cluster starts its nats-servers and relay nodes for the run.";
        }

        if (settings.RelayHost != HostProcess)
        {
            yield return "--relay-host: edgerelay-cluster runs every node in its own process.";
        }
    }

    /// <summary>
    /// The nats-servers, then the relay nodes one after the other: the first creates the service key file and the
    /// streams, which the others then open (several at once would race to create both).
    /// </summary>
    private async Task StartClusterAsync(RunSettings settings, CancellationToken cancellationToken)
    {
        // Holds the service key and the token file every node shares; deleted with _dataDir on disposal.
        _dataDir = Directory.CreateTempSubdirectory("edgerelay-loadtest-cluster-").FullName;
        _nats = await NatsServers.StartAsync(settings.NatsNodes, cancellationToken);
        var c = CultureInfo.InvariantCulture;
        string[] shared =
        [
            "--Storage:Backend=jetstream",
            "--Storage:JetStream:Url=" + _nats.Url,
            "--Storage:JetStream:StreamPrefix=" + ClusterStreamPrefix,
            "--Storage:JetStream:Replicas=" + settings.NatsNodes.ToString(c),
            "--Storage:JetStream:Partitions=" + settings.Partitions.ToString(c),
            "--Relay:ServiceKeyFile=" + Path.Combine(_dataDir, "service.key"),
            "--Access:TokensFile=" + new Server.EdgeRelayOptions().Access.ResolveTokensFile(_dataDir),
            .. RelaySettings.Arguments(settings.RelaySettings),
        ];
        for (int i = 0; i < settings.Nodes; i++)
        {
            _nodes.Add(await RelayProcess.StartAsync(StartedRelayOptions, cancellationToken, shared));
        }

        _endPoints = [.. _nodes.Select(n => n.EndPoint)];
        _nodeMetrics = [.. _nodes.Select(n => new RelayMetricsScraper(RelayProcess.MetricsUrl(n)))];
        Description = string.Create(
            c,
            $"{TargetCatalog.EdgeRelayCluster}: {_nodes.Count} relay node(s) (pids {string.Join(", ", _nodes.Select(n => n.ProcessId))} on {string.Join(", ", _endPoints.Select(e => e.ToString()))}) on {_nats.Servers.Count} nats-server(s) ({_nats.Url}, R{settings.NatsNodes}, {settings.Partitions} partition(s))");
    }

    /// <summary>
    /// The service's whole cost: every node's CPU and the nats-servers' (storage is theirs here), and every
    /// node's allocations; a figure is null once any process has exited.
    /// </summary>
    private async Task<ServerUsageSample> SampleClusterUsageAsync(CancellationToken cancellationToken)
    {
        var cpu = _nats?.ProcessorTime();
        long? allocated = 0;
        string? problem = cpu is null ? "a nats-server has exited" : null;
        for (int i = 0; i < _nodes.Count; i++)
        {
            // The kernel's count first, as for the single relay: the scrape's own work falls after it.
            var nodeCpu = _nodes[i].ProcessorTime();
            var scraped = await _nodeMetrics[i].ScrapeAsync(cancellationToken);
            cpu = cpu + nodeCpu;
            allocated = allocated + scraped.AllocatedBytes;
            problem ??= nodeCpu is null ? $"relay node {i + 1} has exited" : scraped.Problem;
        }

        return new ServerUsageSample(cpu, allocated, problem);
    }

    private async ValueTask DisposeClusterAsync()
    {
        foreach (var scraper in _nodeMetrics)
        {
            scraper.Dispose();
        }

        _nodeMetrics = [];

        // The nodes first: each drains to the cluster before it exits. All at once: each may take its grace period,
        // and after Ctrl+C the command has a bounded time (LoadTestCommandLine.TerminationTimeout) to stop them all.
        await Task.WhenAll(_nodes.Select(node => node.DisposeAsync().AsTask()));

        _nodes.Clear();
        if (_nats is not null)
        {
            await _nats.DisposeAsync();
            _nats = null;
        }
    }
}
