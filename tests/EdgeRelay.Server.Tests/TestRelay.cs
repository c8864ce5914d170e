using EdgeRelay.Client;
using EdgeRelay.Server;

namespace EdgeRelay.Server.Tests;

/// <summary>An in-process relay on loopback port 0 with a real FASTER log in its own temporary folder.</summary>
internal sealed class TestRelay : IAsyncDisposable
{
    private readonly bool _ownsDirectory;

    private TestRelay(RelayHost host, string dataDir, bool ownsDirectory)
    {
        Host = host;
        DataDir = dataDir;
        _ownsDirectory = ownsDirectory;
    }

    public RelayHost Host { get; private set; }

    public string DataDir { get; }

    public string Endpoint => Host.RelayEndPoint.ToString();

    public static async Task<TestRelay> StartAsync(Action<EdgeRelayOptions>? configure = null, TimeProvider? time = null, string? dataDir = null)
    {
        var owns = dataDir is null;
        dataDir ??= TempDir.Create();
        var options = Options(dataDir);
        configure?.Invoke(options);
        var host = await RelayHost.StartAsync(options, time: time);
        return new TestRelay(host, dataDir, owns);
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
        if (_ownsDirectory)
        {
            TempDir.Delete(DataDir);
        }
    }
}

internal static class TempDir
{
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "edgerelay-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
