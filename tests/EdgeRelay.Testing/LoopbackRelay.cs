using EdgeRelay.Server;

namespace EdgeRelay.Testing;

/// <summary>
/// A relay in this process on loopback, with its FASTER log in its own folder; it can be restarted on the
/// same port and data, as a crashed and restarted relay would come back.
/// </summary>
public sealed class LoopbackRelay : IAsyncDisposable
{
    private readonly TempDirectory _data = new("edgerelay-rm-relay");
    private readonly Action<EdgeRelayOptions>? _configure;
    private readonly TimeProvider? _time;
    private RelayHost? _host;
    private int _port;

    private LoopbackRelay(Action<EdgeRelayOptions>? configure, TimeProvider? time)
    {
        _configure = configure;
        _time = time;
    }

    public string Endpoint => $"127.0.0.1:{_port}";

    /// <summary>The running host (null while stopped), for tests that look inside.</summary>
    public RelayHost? Host => _host;

    public static async Task<LoopbackRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, TimeProvider? time = null)
    {
        var relay = new LoopbackRelay(configure, time);
        await relay.StartHostAsync();
        return relay;
    }

    /// <summary>Stops the relay (its connections drop) and starts it again on the same port with the same data.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartHostAsync();
    }

    public async Task StopAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _data.Dispose();
    }

    private async Task StartHostAsync()
    {
        var options = new EdgeRelayOptions
        {
            Relay = { Endpoint = $"127.0.0.1:{_port}" },
            Http = { Endpoint = "127.0.0.1:0" },
            Storage = { DataDir = _data.Path, MemorySizeBits = 24, PageSizeBits = 20, SegmentSizeBits = 24 },
        };
        _configure?.Invoke(options);
        _host = await RelayHost.StartAsync(options, time: _time);
        _port = _host.RelayEndPoint.Port;
    }
}
