using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// The relay under <c>Type=notify</c>: systemd passes a datagram socket in NOTIFY_SOCKET and starts the units
/// after it once READY=1 arrives. Here the test is systemd: it binds the socket and reads what the relay sends.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [SkippableFact]
    public async Task The_relay_sends_ready_once_it_listens_and_stopping_when_it_drains()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "sd_notify is Linux's");
        var socketPath = Path.Combine(_temp.Path, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // A port known before the start, so the test can connect the moment READY=1 arrives.
        var relayPort = FreePort();
        var ready = ReceiveUntilAsync(notify, "READY=1", deadline.Token);
        await using var server = await ServerProcess.StartUnderAsync(
            [],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath },
            Path.Combine(_temp.Path, "data"),
            $"--Relay:Endpoint=127.0.0.1:{relayPort}");

        await ready;
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, relayPort, deadline.Token); // listening by the time READY=1 was sent
        }

        var stopping = ReceiveUntilAsync(notify, "STOPPING=1", deadline.Token);
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
        await stopping;
    }

    private static async Task ReceiveUntilAsync(Socket socket, string expected, CancellationToken ct)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var length = await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            var message = Encoding.UTF8.GetString(buffer, 0, length);
            if (message.Split('\n').Contains(expected))
            {
                return;
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
