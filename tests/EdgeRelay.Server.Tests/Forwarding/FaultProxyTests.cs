using System.Net;
using System.Net.Sockets;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Faults;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>
/// The fault proxy itself, between a plain client socket and a plain listener: each mode does what it says.
/// Absence is shown with a fence, never a sleep: bytes the proxy counts as discarded or holds cannot arrive, an
/// RST ends a read with everything that did arrive, and the slow mode is parked on a fake clock.
/// </summary>
public sealed class FaultProxyTests : IAsyncDisposable
{
    private readonly TcpListener _target = new(IPAddress.Loopback, 0);

    public FaultProxyTests() => _target.Start();

    public ValueTask DisposeAsync()
    {
        _target.Stop();
        _target.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Pass_through_carries_bytes_both_ways_and_a_FIN_as_a_FIN()
    {
        await using var proxy = Start();
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();

        await client.SendAsync(Bytes(100_000, 1));
        Assert.Equal(Bytes(100_000, 1), await ReadExactlyAsync(server, 100_000));
        await server.SendAsync(Bytes(5, 2));
        Assert.Equal(Bytes(5, 2), await ReadExactlyAsync(client, 5));
        client.Shutdown(SocketShutdown.Send);

        Assert.Empty(await ReadToEndAsync(server)); // a clean end of stream, not a reset
        Assert.Equal(new FaultProxyCounters(1, 1, 0, 0, 0, 100_000, 5, 0, 0), proxy.Counters);
    }

    [Fact]
    public async Task A_blackhole_reads_and_discards_and_its_connections_never_reach_the_target()
    {
        await using var proxy = Start();
        using var before = await ConnectAsync(proxy);
        using var server = await AcceptAsync();

        proxy.Blackhole();
        using var during = await ConnectAsync(proxy);
        await before.SendAsync(Bytes(1000, 1));
        await during.SendAsync(Bytes(3000, 2));
        await Eventually.TrueAsync(() => proxy.Counters.Discarded == 4000, () => $"4000 bytes discarded (so far {proxy.Counters.Discarded})");

        // Healed, the old connection stays a sink (its stream lost bytes); the next connection reaches the target,
        // and is the first since the blackhole began: the one made during it never did.
        proxy.PassThrough();
        using var after = await ConnectAsync(proxy);
        using var next = await AcceptAsync();
        await after.SendAsync(Bytes(7, 3));
        Assert.Equal(Bytes(7, 3), await ReadExactlyAsync(next, 7));
        await before.SendAsync(Bytes(10, 4));
        await Eventually.TrueAsync(() => proxy.Counters.Discarded == 4010, "the old connection's bytes to be discarded too");
        Assert.Equal(0, server.Available); // what was discarded was never sent: nothing can be on its way
        Assert.Equal(7, proxy.Counters.BytesUp);
    }

    [Fact]
    public async Task Refusing_closes_the_port_and_passing_through_opens_it_again_on_the_same_port()
    {
        await using var proxy = Start();
        var port = proxy.EndPoint.Port;

        proxy.Refuse();
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(proxy));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        proxy.PassThrough();
        Assert.Equal(port, proxy.EndPoint.Port);
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();
        await client.SendAsync(Bytes(3, 1));
        Assert.Equal(Bytes(3, 1), await ReadExactlyAsync(server, 3));
    }

    [Fact]
    public async Task A_stall_holds_bytes_with_the_socket_open_pushes_back_on_the_writer_and_loses_nothing()
    {
        await using var proxy = Start();
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();
        await client.SendAsync(Bytes(10, 1));
        Assert.Equal(Bytes(10, 1), await ReadExactlyAsync(server, 10));

        proxy.Stall(FaultDirection.Up);
        await client.SendAsync(Bytes(100, 2));
        await Eventually.TrueAsync(() => proxy.Counters.Held == 100, "the proxy to read and hold the 100 bytes");
        Assert.Equal(0, server.Available); // held, so not sent: nothing can be on its way
        Assert.Equal(10, proxy.Counters.BytesUp);

        // The other way is open.
        await server.SendAsync(Bytes(4, 3));
        Assert.Equal(Bytes(4, 3), await ReadExactlyAsync(client, 4));

        // The proxy reads no more: a writer that does not wait fills the socket buffers and is pushed back.
        var expected = new List<byte>(Bytes(100, 2));
        var chunk = Bytes(64 * 1024, 4);
        client.Blocking = false;
        while (!WouldBlock(client, chunk, expected))
        {
            Assert.True(expected.Count < 256 << 20, "256 MiB went into the socket: the stall never pushed back");
        }

        client.Blocking = true;
        Assert.Equal((100L, 10L), (proxy.Counters.Held, proxy.Counters.BytesUp));
        proxy.PassThrough();
        Assert.Equal(expected, await ReadExactlyAsync(server, expected.Count));
        Assert.Equal(0, proxy.Counters.Held);
    }

    [Fact]
    public async Task A_reset_sends_an_RST_to_both_ends_and_reset_new_refuses_after_accepting()
    {
        await using var proxy = Start();
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();
        await client.SendAsync(Bytes(10, 1));
        Assert.Equal(Bytes(10, 1), await ReadExactlyAsync(server, 10));

        Assert.Equal(1, proxy.ResetAll(newToo: true));

        Assert.Equal(SocketError.ConnectionReset, (await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(client))).SocketErrorCode);
        Assert.Equal(SocketError.ConnectionReset, (await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(server))).SocketErrorCode);
        // Accepted by the system, then reset by the proxy: the RST may beat the end of the connect.
        var refused = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            using var socket = await ConnectAsync(proxy);
            await ReadToEndAsync(socket);
        });
        Assert.Equal(SocketError.ConnectionReset, refused.SocketErrorCode);
        Assert.Equal(1, proxy.Counters.Refused);

        proxy.PassThrough();
        using var again = await ConnectAsync(proxy);
        using var next = await AcceptAsync(); // the first the target accepts since the reset: the refused one never came
        await again.SendAsync(Bytes(2, 2));
        Assert.Equal(Bytes(2, 2), await ReadExactlyAsync(next, 2));
        Assert.Equal(3, proxy.Counters.Accepted);
        Assert.Equal(1, proxy.Counters.Reset);
    }

    [Fact]
    public async Task A_cut_forwards_exactly_its_budget_then_resets_in_the_middle()
    {
        await using var proxy = Start();
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();
        await client.SendAsync(Bytes(10, 1));
        Assert.Equal(Bytes(10, 1), await ReadExactlyAsync(server, 10));

        proxy.CutAfter(25);
        await client.SendAsync(Bytes(100, 2));

        Assert.Equal(Bytes(25, 2), await ReadExactlyAsync(server, 25));
        Assert.Equal(SocketError.ConnectionReset, (await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(server))).SocketErrorCode);
        Assert.Equal(SocketError.ConnectionReset, (await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(client))).SocketErrorCode);
        Assert.Equal((1L, 35L), (proxy.Counters.Cut, proxy.Counters.BytesUp));
    }

    [Fact]
    public async Task A_stall_budget_forwards_exactly_its_bytes_then_holds_the_rest_until_healed()
    {
        await using var proxy = Start();
        proxy.StallAfter(25);
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();

        await client.SendAsync(Bytes(100, 1));
        Assert.Equal(Bytes(100, 1).Take(25), await ReadExactlyAsync(server, 25));
        await Eventually.TrueAsync(() => proxy.Counters.Held == 75, () => $"the other 75 bytes to be held (held {proxy.Counters.Held})");
        Assert.Equal(0, server.Available);
        await server.SendAsync(Bytes(5, 3)); // silent both ways
        await Eventually.TrueAsync(() => proxy.Counters.Held == 80, "the answer to be held too");
        Assert.Equal(0, client.Available);

        proxy.PassThrough(existingToo: false); // a new connection is healed, this one is not
        using var other = await ConnectAsync(proxy);
        using var otherServer = await AcceptAsync();
        await other.SendAsync(Bytes(50, 2));
        Assert.Equal(Bytes(50, 2), await ReadExactlyAsync(otherServer, 50));
        Assert.Equal((80L, 75L), (proxy.Counters.Held, proxy.Counters.BytesUp));

        proxy.PassThrough();
        Assert.Equal(Bytes(100, 1).Skip(25), await ReadExactlyAsync(server, 75));
        Assert.Equal(Bytes(5, 3), await ReadExactlyAsync(client, 5));
    }

    [Fact]
    public async Task Slow_forwards_at_its_rate_and_latency_on_the_clock_given()
    {
        var clock = new ObservableClock(DateTimeOffset.UnixEpoch);
        await using var proxy = FaultProxy.Start((IPEndPoint)_target.LocalEndpoint, clock);
        using var client = await ConnectAsync(proxy);
        using var server = await AcceptAsync();

        // 100 bytes a second and 10 ms a piece: pieces of 5 bytes (a twentieth of a second's worth), each 60 ms apart.
        proxy.Throttle(100, TimeSpan.FromMilliseconds(10));
        var parked = clock.WhenTimerCreated(TimeSpan.FromMilliseconds(60), TimeSpan.FromMilliseconds(60));
        await client.SendAsync(Bytes(200, 1));
        var received = new List<byte>();
        for (var piece = 0; piece < 20; piece++)
        {
            await parked.Within();
            Assert.Equal(0, server.Available); // the proxy is parked on the clock: nothing more is coming
            Assert.Equal(piece * 5, proxy.Counters.BytesUp);
            parked = clock.WhenTimerCreated(TimeSpan.FromMilliseconds(60), TimeSpan.FromMilliseconds(60));
            clock.Advance(TimeSpan.FromMilliseconds(60));
            received.AddRange(await ReadExactlyAsync(server, 5));
        }

        Assert.Equal(Bytes(200, 1).Take(100), received); // 1.2 s of the clock: 100 bytes, in order
        proxy.PassThrough();
        clock.Advance(TimeSpan.FromMilliseconds(60)); // the piece already waiting; the rest goes at once
        Assert.Equal(Bytes(200, 1).Skip(100), await ReadExactlyAsync(server, 100));
    }

    private FaultProxy Start() => FaultProxy.Start((IPEndPoint)_target.LocalEndpoint);

    private static async Task<Socket> ConnectAsync(FaultProxy proxy)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(proxy.EndPoint).WaitAsync(Bounds.Patience);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One write that does not wait: false and the bytes taken added to <paramref name="written"/>, or true if the socket's buffers are full.</summary>
    private static bool WouldBlock(Socket socket, byte[] chunk, List<byte> written)
    {
        var sent = socket.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            return true;
        }

        Assert.Equal(SocketError.Success, error);
        written.AddRange(chunk.AsSpan(0, sent).ToArray());
        return false;
    }

    private async Task<Socket> AcceptAsync() => await _target.AcceptSocketAsync().Within();

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        for (var read = 0; read < count;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, $"the stream ended after {read} of {count} bytes");
            read += n;
        }

        return buffer;
    }

    /// <summary>Everything until the end of the stream; an RST throws.</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        var all = new List<byte>();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return [.. all];
            }

            all.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }
}
