using EdgeRelay.Client;
using EdgeRelay.Server;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>An in-process relay on loopback port 0 with a real FASTER log in its own temporary folder.</summary>
internal sealed class TestRelay : IAsyncDisposable
{
    private readonly TempDirectory? _ownDirectory;

    private TestRelay(RelayHost host, string dataDir, TempDirectory? ownDirectory)
    {
        Host = host;
        DataDir = dataDir;
        _ownDirectory = ownDirectory;
    }

    public RelayHost Host { get; private set; }

    public string DataDir { get; }

    public string Endpoint => Host.RelayEndPoint.ToString();

    public static async Task<TestRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, TimeProvider? time = null, string? dataDir = null)
    {
        var own = dataDir is null ? new TempDirectory() : null;
        dataDir ??= own!.Path;
        try
        {
            var options = Options(dataDir);
            configure?.Invoke(options);
            var host = await RelayHost.StartAsync(options, time: time);
            return new TestRelay(host, dataDir, own);
        }
        catch
        {
            own?.Dispose();
            throw;
        }
    }

    public static EdgeRelayOptions Options(string dataDir) => new()
    {
        Relay = { Endpoint = "127.0.0.1:0" },
        Http = { Endpoint = "127.0.0.1:0" },
        Storage = { DataDir = dataDir, MemorySizeBits = 24, PageSizeBits = 20, SegmentSizeBits = 24 },
    };

    public Task<RelayClient> ConnectAsync(RelayClientOptions? options = null) => RelayClient.ConnectAsync(Host.RelayEndPoint, options);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _ownDirectory?.Dispose();
    }
}
