using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A JetStream cluster of <c>nats-server</c> processes on loopback for one run (<c>edgerelay-cluster</c>): each a
/// <see cref="PeerProcess"/> with its own directory (config file and store) and ports, routed to the others,
/// killed and its directory deleted when disposed. One server runs unclustered: nats-server 2.9.10 refuses
/// clustered JetStream without routes.
/// </summary>
internal sealed class NatsServers : IAsyncDisposable
{
    private static readonly HttpClient Monitor = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly PeerProcess[] _servers;

    private NatsServers(PeerProcess[] servers)
    {
        _servers = servers;
        Url = string.Join(",", servers.Select(s => $"nats://{s.EndPoint}"));
    }

    /// <summary>Every server's client URL, comma-separated: what <c>Storage:JetStream:Url</c> takes.</summary>
    public string Url { get; }

    public IReadOnlyList<PeerProcess> Servers => _servers;

    /// <summary>Starts <paramref name="count"/> servers at once and returns when each serves JetStream (with a meta leader, when clustered).</summary>
    public static async Task<NatsServers> StartAsync(int count, CancellationToken cancellationToken)
    {
        var executable = PeerProcess.FindExecutable("nats-server") ?? throw new PeerMissingException("nats-server", "nats-server");

        // Each config names every other server's route port, so those are chosen before any server starts; the
        // client and monitoring ports are each server's own (PeerProcess finds them, and retries if one is taken).
        var routes = PeerProcess.FreeLoopbackPorts(count);
        var clusterName = "edgerelay-loadtest-" + Guid.NewGuid().ToString("N")[..8];
        var starts = new Task<PeerProcess>[count];
        for (int i = 0; i < count; i++)
        {
            var name = "n" + (i + 1).ToString(CultureInfo.InvariantCulture);
            var route = routes[i];
            var peers = count == 1 ? [] : routes.Where(r => r != route).ToArray();
            starts[i] = PeerProcess.StartAsync(
                new PeerLaunch
                {
                    Executable = executable,
                    Name = "nats-server-" + name,
                    Ports = 2,
                    Arguments = (ports, dir) => ["-c", WriteConfig(dir, name, ports[0], ports[1], route, peers, clusterName)],
                    IsReadyAsync = (server, token) => ServesJetStreamAsync(server.EndPointAt(1), count, token),
                },
                cancellationToken);
        }

        try
        {
            return new NatsServers(await Task.WhenAll(starts));
        }
        catch
        {
            // The servers that did start go too, whichever one failed.
            foreach (var start in starts.Where(s => s.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The servers' CPU so far, all of them; null once any has exited.</summary>
    public TimeSpan? ProcessorTime()
    {
        var total = TimeSpan.Zero;
        foreach (var server in _servers)
        {
            if (server.ProcessorTime() is not { } cpu)
            {
                return null;
            }

            total += cpu;
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>
    /// The limits keep JetStream from reserving a share of the machine's memory and disk by default (other
    /// servers share it); 4 GB of file store per server holds minutes of 1 KiB ingest.
    /// </summary>
    private static string WriteConfig(string dir, string name, int clientPort, int monitorPort, int routePort, int[] peerRoutes, string clusterName)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder()
            .AppendLine(c, $"server_name: {name}")
            .AppendLine(c, $"listen: 127.0.0.1:{clientPort}")
            .AppendLine(c, $"http: 127.0.0.1:{monitorPort}")
            .AppendLine("jetstream {")
            .AppendLine(c, $"  store_dir: {JsonSerializer.Serialize(Path.Combine(dir, "store"))}")
            .AppendLine("  max_memory_store: 256MB")
            .AppendLine("  max_file_store: 4GB")
            .AppendLine("}");
        if (peerRoutes.Length > 0)
        {
            text.AppendLine("cluster {")
                .AppendLine(c, $"  name: {clusterName}")
                .AppendLine(c, $"  listen: 127.0.0.1:{routePort}")
                .AppendLine(c, $"  routes: [{string.Join(", ", peerRoutes.Select(p => $"\"nats-route://127.0.0.1:{p}\""))}]")
                .AppendLine("}");
        }

        var path = Path.Combine(dir, name + ".conf");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>
    /// /healthz says the server is up and current; /jsz that JetStream is on and, clustered, that a meta leader
    /// leads a group of every server (healthz alone answers ok for a server without JetStream).
    /// </summary>
    private static async Task<bool> ServesJetStreamAsync(IPEndPoint monitor, int clusterSize, CancellationToken cancellationToken)
    {
        try
        {
            using var health = await Monitor.GetAsync(new Uri($"http://{monitor}/healthz"), cancellationToken);
            if (health.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            using var jsz = JsonDocument.Parse(await Monitor.GetStringAsync(new Uri($"http://{monitor}/jsz"), cancellationToken));
            var root = jsz.RootElement;
            if (!root.TryGetProperty("config", out _))
            {
                return false;
            }

            return clusterSize == 1
                || (root.TryGetProperty("meta_cluster", out var meta)
                    && meta.TryGetProperty("leader", out var leader) && !string.IsNullOrEmpty(leader.GetString())
                    && meta.TryGetProperty("cluster_size", out var size) && size.GetInt32() >= clusterSize);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException)
        {
            // Not listening yet, or answering before its monitoring endpoints are whole.
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
