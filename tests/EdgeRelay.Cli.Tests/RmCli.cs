using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace EdgeRelay.Cli.Tests;

/// <summary>
/// edgerelay-rm run as a user runs it: its own process, a home directory, the passphrase from the
/// environment. Every run is bounded in time.
/// </summary>
internal sealed class RmCli : IDisposable
{
    public const string Passphrase = "a passphrase for tests";

    private static readonly TimeSpan RunDeadline = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _home = new("edgerelay-rm-cli");

    /// <summary>
    /// The CLI as built in its own output folder (same configuration and framework as these tests), with its
    /// own dependency manifest: the copy next to the tests would lack the packages this host provides itself.
    /// </summary>
    private static string CliPath
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = framework.Parent!;
            var testsProject = configuration.Parent!.Parent!;
            var root = testsProject.Parent!.Parent!.FullName;
            return Path.Combine(root, "src", "EdgeRelay.Cli", "bin", configuration.Name, framework.Name, "edgerelay-rm.dll");
        }
    }

    public RmCli(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public string Home => _home.Path;

    /// <summary>The cheapest key derivation init allows, so that each run opens its key store fast.</summary>
    public static string[] CheapKdf => ["--kdf-memory-mib", "19", "--kdf-iterations", "2"];

    public Task<Result> InitAsync(string relay) => RunAsync(["init", "--name", Name, "--relay", relay, .. CheapKdf]);

    public async Task<Result> RunAsync(string[] args, string? stdin = null, string? passphrase = Passphrase)
    {
        using var process = Start(args, passphrase);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(RunDeadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"edgerelay-rm {string.Join(' ', args)} did not finish within {RunDeadline}.");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Runs, and kills the run with SIGKILL (as a crash or the OOM killer ends it) if it has not finished after
    /// <paramref name="after"/>; returns whether it was killed, and what it printed either way.
    /// </summary>
    public async Task<(bool Killed, Result Result)> RunKilledAfterAsync(string[] args, TimeSpan after)
    {
        using var process = Start(args, Passphrase);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var killed = false;
        using (var moment = new CancellationTokenSource(after))
        {
            try
            {
                await process.WaitForExitAsync(moment.Token);
            }
            catch (OperationCanceledException)
            {
                killed = !process.HasExited;
                process.Kill(entireProcessTree: true);
            }
        }

        using var deadline = new CancellationTokenSource(RunDeadline);
        await process.WaitForExitAsync(deadline.Token);
        return (killed, new Result(process.ExitCode, await stdout, await stderr));
    }

    /// <summary>Runs and expects exit 0; returns the JSON objects it printed (--json is added).</summary>
    public async Task<List<JsonElement>> JsonAsync(params string[] args)
    {
        var result = await RunAsync([.. args, "--json"]);
        Assert.True(result.ExitCode == 0, $"edgerelay-rm {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr}");
        return result.JsonLines();
    }

    /// <summary>Starts a long-running verb (inbox --follow) whose stdout lines are read as they come.</summary>
    public Follower Follow(params string[] args) => new(Start([.. args, "--json"], Passphrase));

    public void Dispose() => _home.Dispose();

    private Process Start(string[] args, string? passphrase)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(CliPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add("--home");
        info.ArgumentList.Add(Home);
        info.Environment.Remove("EDGERELAY_RM_PASSPHRASE");
        info.Environment.Remove("EDGERELAY_RM_HOME");
        if (passphrase is not null)
        {
            info.Environment["EDGERELAY_RM_PASSPHRASE"] = passphrase;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public List<JsonElement> JsonLines() =>
            [.. Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

        /// <summary>The JSON objects of the complete lines only: a killed run may have died in the middle of one.</summary>
        public List<JsonElement> CompleteJsonLines() =>
            [.. Stdout[..(Stdout.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    internal sealed class Follower : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
        private readonly Task _reader;
        private readonly Task<string> _stderr;

        public Follower(Process process)
        {
            _process = process;
            _process.StandardInput.Close();
            _stderr = _process.StandardError.ReadToEndAsync();
            _reader = Task.Run(async () =>
            {
                while (await _process.StandardOutput.ReadLineAsync() is { } line)
                {
                    if (line.Length > 0 && TryParse(line) is { } parsed)
                    {
                        _lines.Writer.TryWrite(parsed);
                    }
                }

                _lines.Writer.TryComplete();
            });
        }

        // Only the last line can be cut, by a kill in the middle of writing it: nothing of it reached the reader.
        private JsonElement? TryParse(string line)
        {
            try
            {
                return JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException) when (_process.HasExited)
            {
                return null;
            }
        }

        /// <summary>The next printed object whose "type" is <paramref name="type"/>, skipping others.</summary>
        public async Task<JsonElement> NextAsync(string type)
        {
            using var deadline = new CancellationTokenSource(Eventually.DefaultDeadline);
            try
            {
                while (true)
                {
                    var line = await _lines.Reader.ReadAsync(deadline.Token);
                    if (line.TryGetProperty("type", out var t) && t.GetString() == type)
                    {
                        return line;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                throw new TimeoutException($"inbox --follow printed no '{type}' (exited: {_process.HasExited}); stderr: {(_process.HasExited ? await _stderr : "(running)")}", e);
            }
        }

        /// <summary>Stderr so far is not available while running; this waits for the exit (after --count) and returns the code.</summary>
        public async Task<int> ExitAsync()
        {
            using var deadline = new CancellationTokenSource(Eventually.DefaultDeadline);
            await _process.WaitForExitAsync(deadline.Token);
            return _process.ExitCode;
        }

        /// <summary>
        /// SIGKILL, as a crash or the OOM killer ends it; then everything it printed before dying that the test has
        /// not read yet, of <paramref name="type"/>.
        /// </summary>
        public async Task<List<JsonElement>> KillAsync(string type)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            await _reader;
            var rest = new List<JsonElement>();
            while (_lines.Reader.TryRead(out var line))
            {
                if (line.TryGetProperty("type", out var t) && t.GetString() == type)
                {
                    rest.Add(line);
                }
            }

            return rest;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            await _reader;
            _process.Dispose();
        }
    }
}
