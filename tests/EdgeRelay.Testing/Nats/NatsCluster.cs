using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EdgeRelay.Testing.Nats;

/// <summary>
/// A JetStream cluster of real nats-server processes on loopback, owned by the test that starts it: free ports,
/// a temporary directory per cluster (a config, a store and a log per node), and every process killed and the
/// directory deleted on dispose. Nodes are numbered from 0 (node i is server n{i+1}); a node can be killed
/// (SIGKILL) and restarted on the same ports and store, as a crashed server comes back.
/// </summary>
/// <remarks>
/// Readiness is read from each node's HTTP monitoring port (/healthz and /jsz) rather than by creating a
/// throwaway stream through a client: it sees every node on its own (a client request is answered by whichever
/// server holds the leadership), leaves no state behind that a test could trip over, and gives a reason to
/// quote when the deadline passes ("JetStream is not current with the meta leader").
/// </remarks>
public sealed class NatsCluster : IAsyncDisposable
{
    /// <summary>How long start-up or a restart may take: ~1-3 s here, since routes and the meta election need a few heartbeats.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A free port is found by binding port 0 and letting it go, so another process can take it before the
    /// server binds it: rare, and starting again on other ports covers it.
    /// </summary>
    private const int StartAttempts = 3;

    /// <summary>Clusters not yet disposed, killed when the test host exits so that a failed test leaves no server behind.</summary>
    private static readonly ConcurrentDictionary<NatsCluster, byte> Live = new();

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly NatsNode[] _nodes;
    private readonly TempDirectory _directory;
    private readonly NatsWatchdog _watchdog;

    static NatsCluster() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var cluster in Live.Keys)
        {
            foreach (var node in cluster._nodes)
            {
                node.KillNow();
            }
        }
    };

    private NatsCluster(NatsNode[] nodes, TempDirectory directory, int ownerPid)
    {
        _nodes = nodes;
        _directory = directory;
        _watchdog = NatsWatchdog.Start(ownerPid, directory.Path);
        Urls = [.. nodes.Select(n => n.Url)];
        Names = [.. nodes.Select(n => n.Name)];
        Url = string.Join(",", Urls);
    }

    /// <summary>The client URL of each node (nats://127.0.0.1:port), in node order.</summary>
    public IReadOnlyList<string> Urls { get; }

    /// <summary>Every node's URL, comma-separated, as NatsOpts.Url takes a server list.</summary>
    public string Url { get; }

    /// <summary>Each node's server_name (n1, n2, ...), in node order: what stream and meta leaders are reported as.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The cluster's temporary directory: one folder per node with its config, store and log.</summary>
    public string Directory => _directory.Path;

    /// <summary>
    /// The nats-server binary: on PATH or in /usr/sbin or /usr/bin (Debian installs it in /usr/sbin, which a
    /// non-root PATH often lacks); null when it is not installed.
    /// </summary>
    public static string? FindServer()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin"])
            .Select(d => Path.Combine(d, "nats-server"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// The nats-server binary; when it is missing, skips the calling test (a [SkippableFact]), except under
    /// CI=true, where .ci/run installs it and its absence fails the test.
    /// </summary>
    public static string RequireServer()
    {
        var binary = FindServer();
        if (binary is null && string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("nats-server is not installed; .ci/run installs it with apt-get install nats-server.");
        }

        Skip.If(binary is null, "nats-server is not installed: apt-get install nats-server");
        return binary!;
    }

    /// <summary>
    /// Starts <paramref name="nodes"/> servers routed to each other and returns once every one of them serves
    /// JetStream with a meta leader elected. Skips the test when nats-server is missing (see <see cref="RequireServer"/>).
    /// </summary>
    public static Task<NatsCluster> StartAsync(int nodes = 3, CancellationToken ct = default) => StartAsync(nodes, Environment.ProcessId, ct);

    /// <summary>As <see cref="StartAsync(int, CancellationToken)"/>, with the servers killed once <paramref name="ownerPid"/> is gone (see <see cref="NatsWatchdog"/>).</summary>
    internal static async Task<NatsCluster> StartAsync(int nodes, int ownerPid, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        var binary = RequireServer();
        for (var attempt = 1; ; attempt++)
        {
            var directory = new TempDirectory("edgerelay-nats");
            var ports = FreeLoopbackPorts(3 * nodes);
            var members = new NatsNode[nodes];
            for (var i = 0; i < nodes; i++)
            {
                var name = "n" + (i + 1).ToString(CultureInfo.InvariantCulture);
                members[i] = new NatsNode(binary, name, directory.Combine(name), ports[3 * i], ports[(3 * i) + 1], ports[(3 * i) + 2]);
            }

            var clusterName = "edgerelay-" + Guid.NewGuid().ToString("N")[..8];
            foreach (var node in members)
            {
                node.WriteConfig(clusterName, members.Where(m => m != node).Select(m => m.RouteUrl));
            }

            var cluster = new NatsCluster(members, directory, ownerPid);
            Live[cluster] = 0;
            try
            {
                foreach (var node in members)
                {
                    node.Start();
                }

                await cluster.WaitReadyAsync(ct);
                return cluster;
            }
            catch (NatsClusterException) when (attempt < StartAttempts && members.Any(n => n.LostAPort()))
            {
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    public bool IsRunning(int node) => Node(node).IsRunning;

    /// <summary>The node's process id while it runs, else null: for checking that no server outlives its cluster.</summary>
    public int? ProcessId(int node) => Node(node).ProcessId;

    /// <summary>The node (0-based) whose server_name is <paramref name="name"/>, as leaders are reported.</summary>
    public int IndexOf(string name)
    {
        var index = Array.FindIndex(_nodes, n => n.Name == name);
        return index >= 0 ? index : throw new ArgumentException($"No node is named {name}; the nodes are {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Kills the node with SIGKILL (no lame-duck, no flush: a crash) and waits until it has exited.</summary>
    public async Task KillAsync(int node)
    {
        var member = Node(node);
        await member.KillAsync();
        member.Release();
    }

    /// <summary>
    /// Starts a killed node again on its own ports and store, and returns once every running node, this one
    /// included, serves JetStream again.
    /// </summary>
    public Task RestartAsync(int node, CancellationToken ct = default) => RestartAsync([node], ct);

    /// <summary>
    /// Starts several killed nodes together, then waits as <see cref="RestartAsync(int, CancellationToken)"/> does.
    /// A cluster that lost its majority needs this: one node alone cannot elect a meta leader, so waiting for it
    /// before starting the next would wait for ever.
    /// </summary>
    public async Task RestartAsync(IReadOnlyList<int> nodes, CancellationToken ct = default)
    {
        var members = nodes.Select(Node).ToList();
        var running = members.FirstOrDefault(m => m.IsRunning);
        if (running is not null)
        {
            throw new InvalidOperationException($"{running.Name} is running; kill it first.");
        }

        foreach (var member in members)
        {
            member.Start();
        }

        await WaitReadyAsync(ct);
    }

    /// <summary>Kills every server and deletes the cluster's directory (configs, stores and logs).</summary>
    public async ValueTask DisposeAsync()
    {
        var stuck = new List<TimeoutException>();
        foreach (var node in _nodes)
        {
            try
            {
                await node.KillAsync();
            }
            catch (TimeoutException ex)
            {
                // The others are still killed; this one is left to the process-exit hook and the watchdog.
                stuck.Add(ex);
            }

            if (!node.IsRunning)
            {
                node.Release();
            }
        }

        if (stuck.Count > 0)
        {
            // The directory stays: the watchdog takes its deletion as the sign to stop watching.
            throw new AggregateException("nats-server did not exit after SIGKILL.", stuck);
        }

        Live.TryRemove(this, out _);
        _watchdog.Dispose();
        _directory.Dispose();
    }

    /// <summary>
    /// Waits until every running node is ready (see <see cref="NatsNode.NotReadyReasonAsync"/>). The meta group
    /// counts the configured nodes, killed ones too, so its size is the cluster's whatever is running.
    /// </summary>
    private async Task WaitReadyAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        string? reason = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var exited = _nodes.FirstOrDefault(n => !n.IsRunning && n.ProcessId is not null);
            if (exited is not null)
            {
                // Waits for its last output to reach the log, where the reason is.
                await exited.KillAsync();
                throw new NatsClusterException($"nats-server {exited.Name} exited while starting.{Environment.NewLine}{exited.LogTail()}");
            }

            reason = null;
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                reason = await node.NotReadyReasonAsync(Http, _nodes.Length, ct);
                if (reason is not null)
                {
                    break;
                }
            }

            if (reason is null)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(started) > ReadyTimeout)
            {
                throw new NatsClusterException(
                    $"The NATS cluster was not ready within {ReadyTimeout.TotalSeconds:F0} s: {reason}{Environment.NewLine}"
                    + string.Join(Environment.NewLine, _nodes.Select(n => n.LogTail())));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
    }

    private NatsNode Node(int node)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(node);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(node, _nodes.Length);
        return _nodes[node];
    }

    /// <summary>
    /// <paramref name="count"/> different ports nobody listens on now, on 127.0.0.1: all are held until all are
    /// found, since a port just let go may be handed out again at once.
    /// </summary>
    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = new List<Socket>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(listener);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndPoint!).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }
}

/// <summary>A NATS cluster that did not start or come back; the message quotes the servers' logs.</summary>
public sealed class NatsClusterException(string message) : Exception(message);
