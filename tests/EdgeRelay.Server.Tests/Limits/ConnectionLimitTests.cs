using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Limits;

/// <summary>
/// Limits:MaxConnections and Limits:MaxConnectionsPerIp over real loopback sockets: a newcomer past a limit gets
/// one CONNECTION_LIMIT and is closed before its HELLO is processed, while the connections already open keep
/// sending and pulling.
/// </summary>
public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task Past_the_total_limit_a_newcomer_is_refused_before_HELLO_and_the_open_connections_keep_working()
    {
        await using var relay = await TestRelay.StartAsync(o =>
        {
            o.Limits.MaxConnections = 2;
            o.Limits.MaxConnectionsPerIp = 0;
        });
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        await using var sender = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await sender.SendAsync(created.Card, "before"u8.ToArray());

        // A raw newcomer sends its HELLO: the answer is the refusal, request id 0, not a HELLO_REPLY; then the close.
        using (var raw = await RawConnection.ConnectAsync(relay.Host.RelayEndPoint, hello: false))
        {
            await raw.SendAsync(w => FrameWriter.WriteHello(w, 1));
            Assert.Equal((0u, ErrorCode.ConnectionLimit), await raw.ReadErrorWithIdAsync());
            Assert.True(await raw.IsClosedByPeerAsync(), "the refused connection stayed open");
        }

        // The client library reports it with its code.
        var refused = await Assert.ThrowsAsync<RelayException>(() => relay.ConnectAsync());
        Assert.Equal(ErrorCode.ConnectionLimit, refused.Code);
        Assert.True(refused.ConnectionClosed);

        // The two open connections are unaffected: both send, the owner authenticates and pulls all of it.
        await sender.SendAsync(created.Card, "after"u8.ToArray());
        await rm.SendAsync(created.Card, "from the owner's connection"u8.ToArray());
        await rm.AuthenticateAsync(created.Id, owner.Key);
        var pulled = await rm.PullAsync(created.Id);
        Assert.Equal(["before", "after", "from the owner's connection"], pulled.Messages.Select(m => Encoding.UTF8.GetString(m.Ciphertext.Span)));
        Assert.Equal(2, await CounterAsync(relay, "edgerelay_connections_refused_total{limit=\"total\"}"));
        Assert.Equal(2, await CounterAsync(relay, "edgerelay_requests_refused_total{code=\"CONNECTION_LIMIT\"}"));

        // A slot freed is a slot for the next newcomer.
        await sender.DisposeAsync();
        await Eventually.TrueAsync(() => relay.Host.Server.Connections.Count == 1, "the closed connection's slot to be released");
        await using var later = await relay.ConnectAsync();
        await later.PingAsync();
    }

    [Fact]
    public async Task The_per_IP_limit_counts_each_address_apart()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Limits.MaxConnectionsPerIp = 1);
        var endPoint = relay.Host.RelayEndPoint;
        using var owner = new Owner();
        await using var first = await relay.ConnectAsync(); // from 127.0.0.1
        var created = await owner.CreateAddressAsync(first);

        using (var second = await ConnectFromAsync(IPAddress.Loopback, endPoint))
        {
            await second.SendAsync(w => FrameWriter.WriteHello(w, 1));
            Assert.Equal((0u, ErrorCode.ConnectionLimit), await second.ReadErrorWithIdAsync());
            Assert.True(await second.IsClosedByPeerAsync(), "the refused connection stayed open");
        }

        // 127.0.0.2 is another address on the same loopback: it has a slot of its own.
        using var other = await ConnectFromAsync(IPAddress.Parse("127.0.0.2"), endPoint);
        await other.SendAsync(w => FrameWriter.WriteHello(w, 1));
        Assert.Equal(FrameType.HelloReply, (await other.ReadFrameAsync()).Header.Type);
        await other.AssertStillOpenAsync();

        await first.SendAsync(created.Card, "still here"u8.ToArray());
        await first.AuthenticateAsync(created.Id, owner.Key);
        Assert.Equal("still here", Encoding.UTF8.GetString(Assert.Single((await first.PullAsync(created.Id)).Messages).Ciphertext.Span));
        Assert.Equal(1, await CounterAsync(relay, "edgerelay_connections_refused_total{limit=\"per_ip\"}"));
        Assert.Equal(1, relay.Host.Server.Connections.CountOf(IPAddress.Parse("127.0.0.2")));
    }

    [Fact]
    public void An_IPv4_mapped_IPv6_address_counts_as_its_IPv4_address_and_released_slots_leave_no_entry()
    {
        var limiter = new ConnectionLimiter();
        var limits = new LimitsOptions { MaxConnections = 3, MaxConnectionsPerIp = 2 };
        var v4 = IPAddress.Parse("192.0.2.7");
        var mapped = IPAddress.Parse("::ffff:192.0.2.7");
        var v6 = IPAddress.Parse("2001:db8::7");

        Assert.Equal(ConnectionRefusal.None, limiter.TryAdmit(v4, limits));
        Assert.Equal(ConnectionRefusal.None, limiter.TryAdmit(mapped, limits));
        Assert.Equal(ConnectionRefusal.PerIp, limiter.TryAdmit(v4, limits));
        Assert.Equal(ConnectionRefusal.PerIp, limiter.TryAdmit(mapped, limits));
        Assert.Equal(2, limiter.CountOf(v4));
        Assert.Equal(ConnectionRefusal.None, limiter.TryAdmit(v6, limits));
        Assert.Equal(ConnectionRefusal.Total, limiter.TryAdmit(IPAddress.Parse("198.51.100.1"), limits));
        Assert.Equal(3, limiter.Count);

        limiter.Release(mapped);
        limiter.Release(v4);
        limiter.Release(v6);
        Assert.Equal(0, limiter.Count);
        Assert.Equal(0, limiter.CountOf(v4));

        // 0 = no limit.
        var unlimited = new LimitsOptions { MaxConnections = 0, MaxConnectionsPerIp = 0 };
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(ConnectionRefusal.None, limiter.TryAdmit(v4, unlimited));
        }
    }

    [Theory]
    [InlineData(-1, 0, 0, 1, "Limits:MaxConnections")]
    [InlineData(0, -1, 0, 1, "Limits:MaxConnectionsPerIp")]
    [InlineData(0, 0, -1, 1, "Limits:SendsPerSecondPerConnection")]
    [InlineData(0, 0, 10, 0, "Limits:SendBurstPerConnection")]
    public void Invalid_limits_are_refused_naming_the_option(int total, int perIp, int rate, int burst, string named)
    {
        var options = new EdgeRelayOptions { Limits = { MaxConnections = total, MaxConnectionsPerIp = perIp, SendsPerSecondPerConnection = rate, SendBurstPerConnection = burst } };

        Assert.Contains(options.Validate(), p => p.StartsWith(named + ":", StringComparison.Ordinal));
    }

    /// <summary>A raw connection whose source address is <paramref name="from"/> (any 127.x address is loopback on Linux).</summary>
    private static async Task<RawConnection> ConnectFromAsync(IPAddress from, IPEndPoint to)
    {
        var socket = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(to);
        return RawConnection.Wrap(socket);
    }

    private static async Task<double> CounterAsync(TestRelay relay, string series)
    {
        using var stream = new MemoryStream();
        await relay.Host.Server.Metrics.Registry.CollectAndExportAsTextAsync(stream);
        var prefix = series + " ";
        var line = Encoding.UTF8.GetString(stream.ToArray()).Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
