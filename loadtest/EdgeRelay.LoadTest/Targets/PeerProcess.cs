using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// A server started for one run (redis-server, nats-server, or the relay in its own process): on free loopback
/// ports, with a temporary directory of its own, stopped by its process id and its directory deleted when
/// disposed. A server that is already installed as a service is never used: its configuration, data and
/// lifetime are not the run's.
/// </summary>
internal sealed partial class PeerProcess : IAsyncDisposable
{
    /// <summary>How long a fresh server may take to answer (nats-server with JetStream takes ~100 ms here; redis less; the relay ~1 s).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Lines of the server's output kept for the error message when it fails to start (a .NET stack trace is long).</summary>
    private const int KeptLines = 40;

    /// <summary>
    /// A free port is found by binding port 0 and letting it go, so another process can take it before the
    /// server binds it: rare on a test machine, and a retry on another port covers it.
    /// </summary>
    private const int StartAttempts = 3;

    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly Queue<string> _output;
    private readonly TimeSpan? _stopGracePeriod;

    private PeerProcess(Process process, Queue<string> output, IReadOnlyList<int> ports, string dataDir, TimeSpan? stopGracePeriod)
    {
        _process = process;
        _output = output;
        Ports = ports;
        DataDir = dataDir;
        _stopGracePeriod = stopGracePeriod;
    }

    /// <summary>The first port's endpoint: where the server's clients connect.</summary>
    public IPEndPoint EndPoint => EndPointAt(0);

    /// <summary>The loopback ports given to the server, in the order of <see cref="PeerLaunch.Arguments"/>.</summary>
    public IReadOnlyList<int> Ports { get; }

    public string DataDir { get; }

    public int ProcessId => _process.Id;

    public IPEndPoint EndPointAt(int index) => new(IPAddress.Loopback, Ports[index]);

    /// <summary>
    /// The full path of <paramref name="name"/> on PATH or in an sbin directory, or null. Debian installs
    /// redis-server in /usr/bin but nats-server in /usr/sbin, which a non-root PATH often lacks.
    /// </summary>
    public static string? FindExecutable(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var directories = path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/usr/local/sbin"]);
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts a server that listens on one port and is killed outright when disposed.</summary>
    /// <param name="executable">Full path, from <see cref="FindExecutable"/>.</param>
    /// <param name="arguments">The command line for a port and a data directory.</param>
    /// <param name="isReadyAsync">Whether the server at an endpoint answers yet; called until it does.</param>
    public static Task<PeerProcess> StartAsync(
        string executable, Func<int, string, IEnumerable<string>> arguments, Func<IPEndPoint, CancellationToken, Task<bool>> isReadyAsync, CancellationToken cancellationToken) =>
        StartAsync(
            new PeerLaunch
            {
                Executable = executable,
                Arguments = (ports, dir) => arguments(ports[0], dir),
                IsReadyAsync = (peer, token) => isReadyAsync(peer.EndPoint, token),
            },
            cancellationToken);

    public static async Task<PeerProcess> StartAsync(PeerLaunch launch, CancellationToken cancellationToken)
    {
        var name = launch.Name ?? Path.GetFileName(launch.Executable);
        for (int attempt = 1; ; attempt++)
        {
            var dataDir = Directory.CreateTempSubdirectory($"edgerelay-loadtest-{name}-").FullName;
            var ports = FreeLoopbackPorts(launch.Ports);
            var output = new Queue<string>();
            var info = new ProcessStartInfo(launch.Executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = dataDir,
            };
            foreach (var argument in launch.Arguments(ports, dataDir))
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var variable in info.Environment.Keys.Where(k => launch.WithheldEnvironmentPrefixes.Any(p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase))).ToList())
            {
                info.Environment.Remove(variable);
            }

            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Keep(output, e.Data);
            process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                process.Dispose();
                DeleteDirectory(dataDir);
                throw new LoadTestException($"{name} could not be started ({launch.Executable}): {ex.Message}", ex);
            }

            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var peer = new PeerProcess(process, output, ports, dataDir, launch.StopGracePeriod);
            try
            {
                if (await peer.WaitUntilReadyAsync(launch.IsReadyAsync, cancellationToken))
                {
                    return peer;
                }
            }
            catch
            {
                await peer.DisposeAsync();
                throw;
            }

            await peer.DisposeAsync();
            if (attempt == StartAttempts)
            {
                throw new LoadTestException($"{name} did not start on {peer.EndPoint} (attempt {attempt} of {StartAttempts}); its last output:{Environment.NewLine}{peer.OutputTail()}");
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> different ports nobody listens on now, on 127.0.0.1: all are held until all
    /// are found, since a port just let go may be handed out again at once.
    /// </summary>
    public static int[] FreeLoopbackPorts(int count)
    {
        var listeners = new List<Socket>(count);
        try
        {
            for (int i = 0; i < count; i++)
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

    /// <summary>
    /// The server's CPU time so far, user and system, all its threads (Linux: from /proc/PID/stat); null once
    /// it has exited or where the system does not say.
    /// </summary>
    public TimeSpan? ProcessorTime()
    {
        try
        {
            _process.Refresh();
            return _process.HasExited ? null : _process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>False when the process exited (e.g. the port was taken meanwhile) or did not answer in time.</summary>
    private async Task<bool> WaitUntilReadyAsync(Func<PeerProcess, CancellationToken, Task<bool>> isReadyAsync, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            while (!_process.HasExited)
            {
                if (await isReadyAsync(this, timeout.Token))
                {
                    return true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(25), timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return false;
    }

    /// <summary>Whether a TCP connection to <paramref name="endPoint"/> opens and the server's first answer to <paramref name="probe"/> starts with <paramref name="expected"/>.</summary>
    public static async Task<bool> AnswersAsync(IPEndPoint endPoint, byte[] probe, string expected, CancellationToken cancellationToken)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endPoint, cancellationToken);
            if (probe.Length > 0)
            {
                await socket.SendAsync(probe, SocketFlags.None, cancellationToken);
            }

            var buffer = new byte[256];
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            return read > 0 && System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith(expected, StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private string OutputTail()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output);
        }
    }

    private static void Keep(Queue<string> output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Enqueue(line);
            while (output.Count > KeptLines)
            {
                output.Dequeue();
            }
        }
    }

    /// <summary>
    /// Stops the server by its process id (killed outright, or SIGTERM first when <see cref="PeerLaunch.StopGracePeriod"/>
    /// is set), then deletes its directory.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_stopGracePeriod is { } grace && !_process.HasExited && Terminate(_process.Id))
            {
                using var graceful = new CancellationTokenSource(grace);
                try
                {
                    await _process.WaitForExitAsync(graceful.Token);
                }
                catch (OperationCanceledException)
                {
                    // Still draining after the grace period: killed below.
                }
            }

            if (!_process.HasExited)
            {
                _process.Kill();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
        catch (OperationCanceledException)
        {
            // Not dead after SIGKILL in 10 s: nothing more to do from here; the directory is still removed.
        }
        finally
        {
            _process.Dispose();
        }

        DeleteDirectory(DataDir);
    }

    /// <summary>Sends SIGTERM; false where there are no signals (Windows, a libc without kill) or the process is already gone.</summary>
    private static bool Terminate(int processId)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        try
        {
            return Kill(processId, SigTerm) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int processId, int signal);

    private static void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
