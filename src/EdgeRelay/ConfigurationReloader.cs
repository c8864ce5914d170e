using System.Runtime.InteropServices;
using EdgeRelay.Server;

namespace EdgeRelay.Executable;

/// <summary>
/// Rereads the configuration when the operator asks (SIGHUP) or when its file changes, and hands it to the
/// running relay (<see cref="RelayServer.ApplyConfiguration"/>), which applies what can change live, tells
/// connected RMs, and logs the rest.
/// </summary>
internal sealed class ConfigurationReloader : IDisposable
{
    // Editors write a file in several steps (truncate, write, rename): wait for them to settle.
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    private readonly string[] _args;
    private readonly RelayServer _server;
    private readonly PosixSignalRegistration? _hangUp;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer _debounce;
    private readonly Lock _lock = new();

    public ConfigurationReloader(string[] args, string? configPath, RelayServer server)
    {
        _args = args;
        _server = server;
        _debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        if (!OperatingSystem.IsWindows())
        {
            _hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP's default action ends the process
                Reload();
            });
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

    public void Reload()
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
                _server.ApplyConfiguration(new EdgeRelayOptions(), [ex.Message]);
                return;
            }

            _server.ApplyConfiguration(options, problems);
        }
    }

    public void Dispose()
    {
        _hangUp?.Dispose();
        _watcher?.Dispose();
        _debounce.Dispose();
    }
}
