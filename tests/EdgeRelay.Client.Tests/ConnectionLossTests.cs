using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

public class ConnectionLossTests
{
    public enum Loss
    {
        /// <summary>The relay closes with a FIN (idle timeout, a closing ERROR, a restart).</summary>
        Close,

        /// <summary>The connection is reset (a crashed relay, a middlebox dropping state).</summary>
        Reset,
    }

    [Fact]
    public async Task The_server_closing_the_connection_fails_every_pending_request_with_RelayException_code_None()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();

        var pings = Enumerable.Range(0, 3).Select(_ => client.PingAsync()).ToArray();
        await server.ReadFramesAsync(pings.Length);
        server.Close();

        foreach (var ping in pings)
        {
            var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
            Assert.Equal(ErrorCode.None, ex.Code);
        }
    }

    [Fact]
    public async Task The_connection_being_reset_fails_every_pending_request_with_RelayException_code_None_carrying_the_socket_error()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();

        var pings = Enumerable.Range(0, 3).Select(_ => client.PingAsync()).ToArray();
        await server.ReadFramesAsync(pings.Length);
        server.Reset();

        foreach (var ping in pings)
        {
            var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
            Assert.Equal(ErrorCode.None, ex.Code);
            Assert.Equal(SocketError.ConnectionReset, FindSocketError(ex));
        }
    }

    [Theory]
    [InlineData(Loss.Close)]
    [InlineData(Loss.Reset)]
    public async Task A_request_issued_after_the_connection_was_lost_fails_at_once(Loss loss)
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pending = client.PingAsync();
        await server.ReadFrameAsync();
        End(server, loss);
        await Assert.ThrowsAsync<RelayException>(() => pending.Within());

        var late = client.PingAsync();

        Assert.True(late.IsFaulted, "The request should have failed before it returned.");
        var ex = await Assert.ThrowsAsync<RelayException>(() => late);
        Assert.Equal(ErrorCode.None, ex.Code);
    }

    [Theory]
    [InlineData(Loss.Close)]
    [InlineData(Loss.Reset)]
    public async Task A_request_issued_on_an_idle_connection_the_server_has_ended_fails_instead_of_hanging(Loss loss)
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        End(server, loss);

        // The client may or may not have seen the end yet: either way the request must fail, not wait.
        await Assert.ThrowsAsync<RelayException>(() => client.PingAsync().Within());
    }

    [Theory]
    [InlineData(Loss.Close)]
    [InlineData(Loss.Reset)]
    public async Task The_exceptions_for_a_lost_connection_say_ConnectionClosed(Loss loss)
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pending = client.PingAsync();
        await server.ReadFrameAsync();
        End(server, loss);

        var ofPending = await Assert.ThrowsAsync<RelayException>(() => pending.Within());
        var ofLater = await Assert.ThrowsAsync<RelayException>(() => client.PingAsync().Within());

        Assert.True(ofPending.ConnectionClosed);
        Assert.True(ofLater.ConnectionClosed);
    }

    private static void End(FakeConnection server, Loss loss)
    {
        if (loss == Loss.Reset)
        {
            server.Reset();
        }
        else
        {
            server.Close();
        }
    }

    private static SocketError? FindSocketError(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }
}
