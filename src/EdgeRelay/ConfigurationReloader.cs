using System.Globalization;
using System.Runtime.InteropServices;
using EdgeRelay.Server;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Executable;

/// <summary>
/// Rereads the configuration when the operator asks (SIGHUP) or when its file changes, and hands it to the
/// running relay (<see cref="RelayServer.ApplyConfiguration"/>), which applies what can change live, tells
/// connected RMs, and logs the rest.
/// </summary>
internal sealed partial class ConfigurationReloader : IDisposable
{
    // Editors write a file in several steps (truncate, write, rename): wait for them to settle.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    private readonly string[] _args;
    private readonly RelayServer _server;
    private readonly PosixSignalRegistration? _hangUp;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer _debounce;
    private readonly Lock _lock = new();

    public ConfigurationReloader(string[] args, string? configPath, RelayServer server, ILogger logger)
    {
        _args = args;
        _server = server;
        _debounce = new Timer(_ => _ = Reload(), null, Timeout.Infinite, Timeout.Infinite);
        if (!OperatingSystem.IsWindows())
        {
            _hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP's default action ends the process
                _ = Reload();
            });

            // A process started with SIGHUP ignored (nohup, some supervisors) keeps it ignored: the runtime
            // installs no handler over an inherited SIG_IGN, so the registration above never fires. Say so once,
            // rather than leave an operator sending signals that do nothing.
            if (IsHangUpIgnored())
            {
                HangUpIgnored(logger);
            }
        }

        if (configPath is not null)
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(configPath)!, Path.GetFileName(configPath))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => _debounce.Change(Settle, Timeout.InfiniteTimeSpan);
            _watcher.Created += (_, _) => _debounce.Change(Settle, Timeout.InfiniteTimeSpan);
            _watcher.Renamed += (_, _) => _debounce.Change(Settle, Timeout.InfiniteTimeSpan);
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>
    /// Rereads the configuration as the relay was started with it (file, environment, command line) and applies
    /// it; returns what changed, what needs a restart, or why nothing was applied. SIGHUP, a change of the file
    /// and the admin API's reload all come here, one at a time.
    /// </summary>
    public ConfigurationChange Reload()
    {
        lock (_lock)
        {
            var problems = new List<string>();
            EdgeRelayOptions options;
            try
            {
                options = ServerConfiguration.Load(_args, out _, problems);
            }
            catch (ConfigurationException ex)
            {
                return _server.ApplyConfiguration(new EdgeRelayOptions(), [ex.Message]);
            }

            return _server.ApplyConfiguration(options, problems);
        }
    }

    /// <summary>
    /// Whether the kernel delivers SIGHUP to this process as ignored, read from the SigIgn mask of
    /// /proc/self/status (bit 0 is signal 1, SIGHUP). False where that file does not exist (not Linux).
    /// </summary>
    internal static bool IsHangUpIgnored()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
        {
            return false;
        }

        foreach (var line in File.ReadLines(Status))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan("SigIgn:".Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var ignored))
            {
                return (ignored & 1) != 0;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "SIGHUP is ignored by this process (it was started with SIGHUP ignored, as nohup does), so SIGHUP will not reload the configuration; edit the configuration file instead, which is watched, or start the relay without nohup")]
    private static partial void HangUpIgnored(ILogger logger);

    public void Dispose()
    {
        _hangUp?.Dispose();
        _watcher?.Dispose();
        _debounce.Dispose();
    }
}
