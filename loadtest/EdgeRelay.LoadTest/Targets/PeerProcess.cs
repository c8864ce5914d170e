using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>A peer's server binary is not installed; the run (or the compare row) is skipped with how to install it.</summary>
internal sealed class PeerMissingException : LoadTestException
{
    public PeerMissingException(string executable, string package)
        : base($"{executable} is not installed (not found on PATH): install it with apt-get install {package}")
    {
        Executable = executable;
        Package = package;
    }

    public PeerMissingException()
    {
    }

    public PeerMissingException(string message)
        : base(message)
    {
    }

    public PeerMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string Executable { get; } = "";

    public string Package { get; } = "";
}

/// <summary>
/// A peer server (redis-server, nats-server) started for one run: on a free loopback port, with a temporary
/// directory of its own, stopped by its process id and its directory deleted when disposed. A server that is
/// already installed as a service is never used: its configuration, data and lifetime are not the run's.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    /// <summary>How long a fresh server may take to answer (nats-server with JetStream takes ~100 ms here; redis less).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Lines of the server's output kept for the error message when it fails to start.</summary>
    private const int KeptLines = 20;

    /// <summary>
    /// A free port is found by binding port 0 and letting it go, so another process can take it before the
    /// server binds it: rare on a test machine, and a retry on another port covers it.
    /// </summary>
    private const int StartAttempts = 3;

    private readonly Process _process;
    private readonly Queue<string> _output;

    private PeerProcess(Process process, Queue<string> output, IPEndPoint endPoint, string dataDir)
    {
        _process = process;
        _output = output;
        EndPoint = endPoint;
        DataDir = dataDir;
    }

    public IPEndPoint EndPoint { get; }

    public string DataDir { get; }

    public int ProcessId => _process.Id;

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

    /// <param name="executable">Full path, from <see cref="FindExecutable"/>.</param>
    /// <param name="arguments">The command line for a port and a data directory.</param>
    /// <param name="isReadyAsync">Whether the server at an endpoint answers yet; called until it does.</param>
    public static async Task<PeerProcess> StartAsync(
        string executable, Func<int, string, IEnumerable<string>> arguments, Func<IPEndPoint, CancellationToken, Task<bool>> isReadyAsync, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(executable);
        for (int attempt = 1; ; attempt++)
        {
            var dataDir = Directory.CreateTempSubdirectory($"edgerelay-loadtest-{name}-").FullName;
            var endPoint = new IPEndPoint(IPAddress.Loopback, FreeLoopbackPort());
            var output = new Queue<string>();
            var info = new ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = dataDir,
            };
            foreach (var argument in arguments(endPoint.Port, dataDir))
            {
                info.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Keep(output, e.Data);
            process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var peer = new PeerProcess(process, output, endPoint, dataDir);
            try
            {
                if (await peer.WaitUntilReadyAsync(isReadyAsync, cancellationToken))
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
                throw new LoadTestException($"{name} did not start on {endPoint} (attempt {attempt} of {StartAttempts}); its last output:{Environment.NewLine}{peer.OutputTail()}");
            }
        }
    }

    /// <summary>A port nobody listens on now, on 127.0.0.1.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>False when the process exited (e.g. the port was taken meanwhile) or did not answer in time.</summary>
    private async Task<bool> WaitUntilReadyAsync(Func<IPEndPoint, CancellationToken, Task<bool>> isReadyAsync, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            while (!_process.HasExited)
            {
                if (await isReadyAsync(EndPoint, timeout.Token))
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

    /// <summary>Kills the server by its process id (its data is the run's own, nothing to save), then deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
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

        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
