using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

public class HandshakeTests
{
    [Fact]
    public async Task ConnectAsync_throws_the_relays_code_and_closes_its_socket_when_HELLO_is_refused()
    {
        await using var relay = new FakeRelay();
        var (connecting, server) = await relay.AcceptWithoutHelloAsync();
        var hello = await server.ReadFrameAsync();

        await server.ErrorAsync(hello.Header.RequestId, ErrorCode.UnsupportedVersion, "version 1 only");

        var ex = await Assert.ThrowsAsync<RelayException>(() => connecting.Within());
        Assert.Equal(ErrorCode.UnsupportedVersion, ex.Code);
        Assert.Empty(await server.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task ConnectAsync_throws_MalformedFrame_when_the_HELLO_reply_does_not_parse()
    {
        await using var relay = new FakeRelay();
        var (connecting, server) = await relay.AcceptWithoutHelloAsync();
        var hello = await server.ReadFrameAsync();

        await server.SendRawAsync([.. FakeConnection.Header(5, FrameType.HelloReply, 0, hello.Header.RequestId), 0, 1, 0, 0, 0]);

        var ex = await Assert.ThrowsAsync<RelayException>(() => connecting.Within());
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
    }

    [Fact]
    public async Task ConnectAsync_throws_RelayException_when_the_relay_closes_before_answering_HELLO()
    {
        await using var relay = new FakeRelay();
        var (connecting, server) = await relay.AcceptWithoutHelloAsync();
        await server.ReadFrameAsync();

        server.Close();

        var ex = await Assert.ThrowsAsync<RelayException>(() => connecting.Within());
        Assert.Equal(ErrorCode.None, ex.Code);
    }

    [Fact]
    public async Task ServerInfo_holds_what_the_HELLO_reply_advertised()
    {
        await using var relay = new FakeRelay(maxInFlight: 7, maxReplyBody: 123_456);
        var (client, _) = await relay.ConnectAsync();

        Assert.Equal(relay.Info.MaxInFlight, client.ServerInfo.MaxInFlight);
        Assert.Equal(relay.Info.MaxReplyBody, client.ServerInfo.MaxReplyBody);
        Assert.Equal(relay.Info.AuthNonce.ToArray(), client.ServerInfo.AuthNonce.ToArray());
        Assert.Equal(relay.Info.Endpoint, client.ServerInfo.Endpoint);
    }
}
