using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace EdgeRelay.Server.Tests;

/// <summary>The real relay executable as a child process, for restart and kill tests.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ServerProcess(Process process) => _process = process;

    public IPEndPoint RelayEndPoint { get; private set; } = null!;

    public IPEndPoint HttpEndPoint { get; private set; } = null!;

    public int Id => _process.Id;

    public static Task<ServerProcess> StartAsync(string dataDir, params string[] extraArgs) => StartUnderAsync(null, dataDir, extraArgs);

    /// <summary>Starts the relay through <paramref name="launcher"/> (e.g. "nohup"), which runs "dotnet" and the relay's arguments; directly when null.</summary>
    public static Task<ServerProcess> StartUnderAsync(string? launcher, string dataDir, params string[] extraArgs) =>
        StartUnderAsync(launcher is null ? [] : [launcher], new Dictionary<string, string>(), dataDir, extraArgs);

    /// <summary>
    /// Starts the relay through <paramref name="launcher"/> (a program and its own arguments, followed by "dotnet"
    /// and the relay's arguments; directly when empty), with these environment variables set.
    /// </summary>
    public static async Task<ServerProcess> StartUnderAsync(string[] launcher, IReadOnlyDictionary<string, string> environment, string dataDir, params string[] extraArgs)
    {
        var server = Path.Combine(AppContext.BaseDirectory, "edgerelay.dll");
        var info = new ProcessStartInfo(launcher.Length > 0 ? launcher[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        if (launcher.Length > 0)
        {
            foreach (var arg in launcher[1..])
            {
                info.ArgumentList.Add(arg);
            }

            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(server);
        info.ArgumentList.Add("--Relay:Endpoint=127.0.0.1:0");
        info.ArgumentList.Add("--Http:Endpoint=127.0.0.1:0");
        info.ArgumentList.Add("--Storage:DataDir=" + dataDir);
        foreach (var arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the relay.");
        var child = new ServerProcess(process);
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var httpListening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetException(new InvalidOperationException("The relay exited before listening:\n" + child.Output));
                httpListening.TrySetException(new InvalidOperationException("The relay exited before listening:\n" + child.Output));
                return;
            }

            lock (child._output)
            {
                child._output.Add(e.Data);
            }

            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                listening.TrySetResult(IPEndPoint.Parse(match.Groups[1].Value));
            }

            var http = HttpListeningLine().Match(e.Data);
            if (http.Success)
            {
                httpListening.TrySetResult(IPEndPoint.Parse(http.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._output)
                {
                    child._output.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        child.RelayEndPoint = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        child.HttpEndPoint = await httpListening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return child;
    }

    /// <summary>Runs the executable to completion (for start-up failures); returns its exit code and standard error.</summary>
    public static async Task<(int ExitCode, string StandardError)> RunToExitAsync(params string[] args)
    {
        var (exitCode, _, stderr) = await RunWithOutputAsync(args);
        return (exitCode, stderr);
    }

    /// <summary>Runs the executable to completion; returns its exit code, standard output and standard error.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunWithOutputAsync(params string[] args) =>
        RunWithOutputAsync(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="RunWithOutputAsync(string[])"/>, with these environment variables set for it.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWithOutputAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edgerelay.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the relay.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, stderr);
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a power cut for the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the graceful path an operator's service manager takes.</summary>
    public async Task<int> TerminateAsync(TimeSpan? within = null)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits for the relay to exit by itself; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"relay endpoint listening on ([0-9A-Fa-f.:\[\]]+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"HTTP endpoint listening on ([0-9A-Fa-f.:\[\]]+)")]
    private static partial Regex HttpListeningLine();
}
