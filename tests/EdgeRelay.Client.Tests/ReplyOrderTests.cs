using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>
/// The relay answers a connection's requests in order. A reply that does not answer the oldest unanswered
/// request means the stream cannot be trusted: the client must fail, never hand one caller another's reply.
/// </summary>
public class ReplyOrderTests
{
    private static readonly AddressId Address = new(1, 2);

    [Fact]
    public async Task A_reply_to_the_second_request_arriving_first_fails_both_requests_instead_of_handing_it_to_the_first()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var first = client.PullAsync(Address, 10);
        var second = client.PullAsync(Address, 10);
        var requests = await server.ReadFramesAsync(2);

        await server.MessagesAsync(requests[1].RequestId, 222);
        await server.MessagesAsync(requests[0].RequestId, 111);

        foreach (var pull in new[] { first, second })
        {
            var ex = await Assert.ThrowsAsync<RelayException>(() => pull.Within());
            Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
        }
    }

    [Fact]
    public async Task An_ERROR_reply_to_the_second_request_arriving_first_is_not_handed_to_the_first_request()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var first = client.PingAsync();
        var second = client.PingAsync();
        var requests = await server.ReadFramesAsync(2);

        await server.ErrorAsync(requests[1].RequestId, ErrorCode.AddressUnknown, "meant for the second request");

        var ex = await Assert.ThrowsAsync<RelayException>(() => first.Within());
        Assert.NotEqual(ErrorCode.AddressUnknown, ex.Code);
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
    }

    [Fact]
    public async Task A_reply_carrying_a_request_id_never_issued_fails_the_pending_request()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ping = client.PingAsync();
        var request = await server.ReadFrameAsync();

        await server.PongAsync(request.Header.RequestId + 1000);

        var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
    }
}
