using System.Net;
using EdgeRelay.Server;

namespace EdgeRelay.Testing;

/// <summary>
/// The real relay in this process, on loopback, with its FASTER log in its own temporary folder; it can be
/// stopped and started again on the same port and folder, as a restarted relay is found by its clients.
/// </summary>
public sealed class LoopbackRelay : IAsyncDisposable
{
    private readonly TempDirectory _data = new("edgerelay-loopback-relay");
    private readonly Action<EdgeRelayOptions>? _configure;
    private readonly TimeProvider? _time;
    private RelayHost? _host;

    private LoopbackRelay(Action<EdgeRelayOptions>? configure, TimeProvider? time)
    {
        _configure = configure;
        _time = time;
    }

    public IPEndPoint SocketEndPoint { get; private set; } = null!;

    /// <summary>"127.0.0.1:port", as a card or a command line names it.</summary>
    public string Endpoint => SocketEndPoint.ToString();

    public RelayHost Host => _host ?? throw new InvalidOperationException("The relay is stopped.");

    public static async Task<LoopbackRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, TimeProvider? time = null)
    {
        var relay = new LoopbackRelay(configure, time);
        try
        {
            await relay.StartOnAsync("127.0.0.1:0");
            return relay;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    /// <summary>A graceful stop: its connections get SHUTTING_DOWN and close.</summary>
    public async Task StopAsync()
    {
        if (_host is { } host)
        {
            _host = null;
            await host.DisposeAsync();
        }
    }

    /// <summary>Starts it again on the port it had and on its log, which it recovers.</summary>
    public Task StartAgainAsync() => StartOnAsync(Endpoint);

    /// <summary>Stops it (its connections drop) and starts it again on the same port and data.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAgainAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _data.Dispose();
    }

    /// <summary>
    /// Reloads the relay's configuration as its operator would: the options it started with, changed by
    /// <paramref name="change"/>. What it applies (the sending section) is pushed to RMs as CONFIG.
    /// </summary>
    public ConfigurationChange Reconfigure(Action<EdgeRelayOptions> change)
    {
        var options = Options(Endpoint);
        options.Http.Endpoint = Host.Server.Options.Http.Endpoint;
        change(options);
        return Host.Server.ApplyConfiguration(options);
    }

    private EdgeRelayOptions Options(string endpoint)
    {
        var options = new EdgeRelayOptions
        {
            Relay = { Endpoint = endpoint },
            Http = { Endpoint = "127.0.0.1:0" },
            Storage = { DataDir = _data.Path, MemorySizeBits = 24, PageSizeBits = 20, SegmentSizeBits = 24 },
        };
        _configure?.Invoke(options);
        return options;
    }

    private async Task StartOnAsync(string endpoint)
    {
        _host = await RelayHost.StartAsync(Options(endpoint), time: _time);
        SocketEndPoint = _host.RelayEndPoint;
    }
}
