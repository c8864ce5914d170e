using System.Net;
using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>
/// A relay that says only what a test scripts: it accepts the client, answers its HELLO with the limits
/// the test chose, and from then on every request is read, and answered or not, by the test itself.
/// Disposing it disposes the clients it connected and its ends of their connections.
/// </summary>
internal sealed class FakeRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<RelayClient> _clients = [];
    private readonly List<FakeConnection> _servers = [];

    public FakeRelay(int maxInFlight = 1024, int maxReplyBody = 1 << 20)
    {
        _listener.Start();
        Info = new ServerInfo
        {
            MaxCiphertext = ProtocolConstants.DefaultMaxCiphertext,
            MaxRequestBody = ProtocolConstants.MaxRequestBody(ProtocolConstants.DefaultMaxCiphertext),
            MaxReplyBody = maxReplyBody,
            MaxPullCount = 256,
            MaxInFlight = maxInFlight,
            DefaultAddressLifetimeSeconds = 30 * 86400,
            MaxAddressLifetimeSeconds = 365 * 86400,
            ServicePublicKey = new byte[ProtocolConstants.PublicKeyLength],
            AuthNonce = Enumerable.Range(1, ProtocolConstants.NonceLength).Select(i => (byte)i).ToArray(),
            Endpoint = EndPoint.ToString(),
        };
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>What the HELLO reply advertises.</summary>
    public ServerInfo Info { get; }

    /// <summary>Connects a real client and returns it with the server's end of its connection, HELLO done.</summary>
    public async Task<(RelayClient Client, FakeConnection Server)> ConnectAsync(RelayClientOptions? options = null)
    {
        var (connecting, server) = await AcceptWithoutHelloAsync(options);
        var hello = await server.ReadFrameAsync();
        Assert.Equal(FrameType.Hello, hello.Header.Type);
        await server.SendAsync(w => FrameWriter.WriteServerInfo(w, hello.Header.RequestId, Info));
        var client = await connecting.Within();
        _clients.Add(client);
        return (client, server);
    }

    /// <summary>Starts a client connecting and accepts its connection, leaving its HELLO for the test to read and answer.</summary>
    public async Task<(Task<RelayClient> Connecting, FakeConnection Server)> AcceptWithoutHelloAsync(RelayClientOptions? options = null)
    {
        var connecting = RelayClient.ConnectAsync(EndPoint, options);
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        var server = new FakeConnection(await _listener.AcceptSocketAsync(timeout.Token));
        _servers.Add(server);
        return (connecting, server);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync().AsTask().Within();
        }

        foreach (var server in _servers)
        {
            server.Dispose();
        }

        _listener.Dispose();
    }
}
