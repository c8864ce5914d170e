using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace EdgeRelay.Testing.Nats;

/// <summary>
/// One nats-server of a <see cref="NatsCluster"/>: its ports, its config file, its store and its log, all of
/// which outlive the process, so that a restart brings back the same server (same name, ports and data).
/// </summary>
internal sealed class NatsNode
{
    /// <summary>Lines of a node's log quoted in an error message: enough for the cause, short enough to read.</summary>
    private const int TailLines = 30;

    private readonly string _binary;
    private readonly Lock _gate = new();
    private Process? _process;
    private StreamWriter? _log;

    public NatsNode(string binary, string name, string directory, int clientPort, int routePort, int monitorPort)
    {
        _binary = binary;
        Name = name;
        ClientPort = clientPort;
        RoutePort = routePort;
        MonitorPort = monitorPort;
        Directory.CreateDirectory(directory);
        ConfigPath = Path.Combine(directory, name + ".conf");
        LogPath = Path.Combine(directory, name + ".log");
        StoreDir = Path.Combine(directory, "store");
        PidPath = Path.Combine(directory, "pid");
    }

    public string Name { get; }

    public int ClientPort { get; }

    public int RoutePort { get; }

    /// <summary>The HTTP monitoring port (/healthz, /jsz): how readiness is seen without a client connection.</summary>
    public int MonitorPort { get; }

    public string ConfigPath { get; }

    public string LogPath { get; }

    public string StoreDir { get; }

    /// <summary>The running process's id, for <see cref="NatsWatchdog"/>; absent while the node is down.</summary>
    public string PidPath { get; }

    public string Url => "nats://127.0.0.1:" + ClientPort.ToString(CultureInfo.InvariantCulture);

    public string RouteUrl => "nats-route://127.0.0.1:" + RoutePort.ToString(CultureInfo.InvariantCulture);

    public int? ProcessId
    {
        get
        {
            lock (_gate)
            {
                return _process?.Id;
            }
        }
    }

    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: false };
            }
        }
    }

    /// <summary>
    /// The limits are set because by default JetStream reserves a share of the machine's memory and disk, and a
    /// test machine runs several clusters at once. Explicit routes are retried for ever, so a killed peer
    /// rejoins when restarted without any help. A single node gets no cluster block: nats-server 2.9.10 refuses
    /// clustered JetStream without routes ("JetStream cluster requires configured routes or solicited leafnode").
    /// </summary>
    public void WriteConfig(string clusterName, IEnumerable<string> routes)
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"server_name: {Name}")
            .AppendLine(CultureInfo.InvariantCulture, $"listen: 127.0.0.1:{ClientPort}")
            .AppendLine(CultureInfo.InvariantCulture, $"http: 127.0.0.1:{MonitorPort}")
            .AppendLine("jetstream {")
            .AppendLine(CultureInfo.InvariantCulture, $"  store_dir: {JsonSerializer.Serialize(StoreDir)}")
            .AppendLine("  max_memory_store: 256MB")
            .AppendLine("  max_file_store: 1GB")
            .AppendLine("}");
        var peers = routes.ToList();
        if (peers.Count > 0)
        {
            text.AppendLine("cluster {")
                .AppendLine(CultureInfo.InvariantCulture, $"  name: {clusterName}")
                .AppendLine(CultureInfo.InvariantCulture, $"  listen: 127.0.0.1:{RoutePort}")
                .AppendLine(CultureInfo.InvariantCulture, $"  routes: [{string.Join(", ", peers.Select(r => JsonSerializer.Serialize(r)))}]")
                .AppendLine("}");
        }

        File.WriteAllText(ConfigPath, text.ToString());
    }

    /// <summary>Starts the server on its config; its output is appended to <see cref="LogPath"/>, a restart after a marker line.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} is already running (pid {_process.Id}).");
            }

            _process?.Dispose();
            _log?.Dispose();
            var log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            log.WriteLine($"--- starting {Name} at {DateTime.UtcNow:O} ---");
            var info = new ProcessStartInfo(_binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(ConfigPath)!,
            };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(ConfigPath);
            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Append(log, e.Data);
            process.ErrorDataReceived += (_, e) => Append(log, e.Data);
            try
            {
                process.Start();
            }
            catch
            {
                process.Dispose();
                log.Dispose();
                throw;
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            _log = log;
            File.WriteAllText(PidPath, process.Id.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>SIGKILL (what <see cref="Process.Kill()"/> sends on Unix): no lame-duck mode, no flush, as in a crash.</summary>
    public async Task KillAsync()
    {
        Process? process;
        lock (_gate)
        {
            process = _process;
        }

        if (process is null)
        {
            return;
        }

        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        // WaitForExitAsync also waits for the redirected output to be drained into the log.
        await Eventually.Within(process.WaitForExitAsync(), $"{Name} (pid {process.Id}) to exit after SIGKILL", TimeSpan.FromSeconds(10));
    }

    /// <summary>The synchronous kill for a process-exit hook, where nothing can be awaited.</summary>
    public void KillNow()
    {
        lock (_gate)
        {
            try
            {
                _process?.Kill();
                _process?.WaitForExit(5_000);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Releases the process handle and the log file; the process must have exited (see <see cref="KillAsync"/>).</summary>
    public void Release()
    {
        lock (_gate)
        {
            _process?.Dispose();
            _process = null;
            try
            {
                File.Delete(PidPath);
            }
            catch (DirectoryNotFoundException)
            {
                // The watchdog deleted the cluster's directory: its owner is gone.
            }

            if (_log is { } log)
            {
                // The output handlers write under the same lock.
                lock (log)
                {
                    log.Dispose();
                }
            }

            _log = null;
        }
    }

    /// <summary>
    /// Null when this server serves JetStream as a cluster member, else why not. /healthz alone is not
    /// enough: it answers ok for a server without JetStream, so /jsz must show JetStream configured and a meta
    /// leader in a group of the expected size.
    /// </summary>
    public async Task<string?> NotReadyReasonAsync(HttpClient http, int clusterSize, CancellationToken cancellationToken)
    {
        try
        {
            using var health = await http.GetAsync(Monitor("healthz"), cancellationToken);
            if (health.StatusCode != HttpStatusCode.OK)
            {
                return $"{Name} /healthz: {(int)health.StatusCode} {await health.Content.ReadAsStringAsync(cancellationToken)}";
            }

            using var jsz = JsonDocument.Parse(await http.GetStringAsync(Monitor("jsz"), cancellationToken));
            var root = jsz.RootElement;
            if (!root.TryGetProperty("config", out _))
            {
                return $"{Name} /jsz: JetStream is not enabled";
            }

            if (clusterSize == 1)
            {
                return null;
            }

            if (!root.TryGetProperty("meta_cluster", out var meta) || !meta.TryGetProperty("leader", out var leader) || string.IsNullOrEmpty(leader.GetString()))
            {
                return $"{Name} /jsz: no meta leader";
            }

            var size = meta.TryGetProperty("cluster_size", out var s) ? s.GetInt32() : 0;
            return size < clusterSize ? $"{Name} /jsz: meta group of {size}, expected {clusterSize}" : null;
        }
        catch (HttpRequestException ex)
        {
            return $"{Name} monitoring port {MonitorPort}: {ex.Message}";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{Name} monitoring port {MonitorPort}: no answer";
        }
    }

    /// <summary>Whether the last start failed because a port was taken between finding it free and binding it.</summary>
    public bool LostAPort() => ReadTail().Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase));

    public string LogTail() => $"--- last lines of {LogPath} ---{Environment.NewLine}{string.Join(Environment.NewLine, ReadTail())}";

    private List<string> ReadTail()
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var tail = new Queue<string>();
            while (reader.ReadLine() is { } line)
            {
                tail.Enqueue(line);
                if (tail.Count > TailLines)
                {
                    tail.Dequeue();
                }
            }

            return [.. tail];
        }
        catch (IOException)
        {
            return [];
        }
    }

    private Uri Monitor(string path) => new($"http://127.0.0.1:{MonitorPort.ToString(CultureInfo.InvariantCulture)}/{path}");

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives after the node was released is of no use to anyone.
            }
        }
    }
}
