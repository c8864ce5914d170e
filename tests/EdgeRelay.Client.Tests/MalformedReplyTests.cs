using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>
/// What a relay (or something pretending to be one) may send that the client must not trust. A frame the
/// client cannot delimit leaves the stream unusable, so the connection fails; a well-delimited reply whose
/// body is wrong fails only its own request.
/// </summary>
public class MalformedReplyTests
{
    private static readonly AddressId Address = new(1, 2);

    [Fact]
    public async Task A_reply_with_reserved_header_flags_set_fails_every_pending_request_and_the_connection()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pings = Enumerable.Range(0, 2).Select(_ => client.PingAsync()).ToArray();
        var requests = await server.ReadFramesAsync(pings.Length);

        await server.SendRawAsync(FakeConnection.Header(0, FrameType.Pong, flags: 0x01, requests[0].RequestId));

        await AssertConnectionFailedAsync(client, pings);
    }

    [Fact]
    public async Task A_reply_longer_than_the_advertised_MaxReplyBody_fails_the_pending_request_and_the_connection_from_its_header_alone()
    {
        await using var relay = new FakeRelay(maxReplyBody: 1 << 20);
        var (client, server) = await relay.ConnectAsync();
        var pull = client.PullAsync(Address, 10);
        var request = await server.ReadFrameAsync();

        // Only the header: a client that waited for the body would wait for ever.
        await server.SendRawAsync(FakeConnection.Header((1 << 20) + 1, FrameType.Messages, 0, request.Header.RequestId));

        await AssertConnectionFailedAsync(client, pull);
    }

    [Fact]
    public async Task A_reply_exactly_MaxReplyBody_long_is_accepted()
    {
        const int MaxReplyBody = 1 << 20;
        await using var relay = new FakeRelay(maxReplyBody: MaxReplyBody);
        var (client, server) = await relay.ConnectAsync();
        var pull = client.PullAsync(Address, 10);
        var request = await server.ReadFrameAsync();

        var ciphertext = new byte[MaxReplyBody - FrameWriter.MessagesBodyLength([0])];
        await server.SendAsync(w =>
        {
            FrameWriter.WriteMessagesHeader(w, request.Header.RequestId, MaxReplyBody, 1, more: false);
            FrameWriter.WriteDeliveredMessage(w, 7, 0, ciphertext);
        });

        var result = await pull.Within();
        Assert.Equal(ciphertext.Length, Assert.Single(result.Messages).Ciphertext.Length);
    }

    [Fact]
    public async Task A_reply_cut_short_by_the_connection_closing_fails_the_pending_request_with_RelayException_code_None()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pull = client.PullAsync(Address, 10);
        var request = await server.ReadFrameAsync();

        await server.SendRawAsync([.. FakeConnection.Header(100, FrameType.Messages, 0, request.Header.RequestId), .. new byte[20]]);
        server.Close();

        var ex = await Assert.ThrowsAsync<RelayException>(() => pull.Within());
        Assert.Equal(ErrorCode.None, ex.Code);
    }

    [Fact]
    public async Task A_MESSAGES_reply_with_a_count_its_body_does_not_hold_fails_that_pull_with_MalformedFrame_and_the_connection_stays_usable()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pull = client.PullAsync(Address, 10);
        var request = await server.ReadFrameAsync();

        await server.SendAsync(w =>
        {
            // Says two messages, carries one.
            FrameWriter.WriteMessagesHeader(w, request.Header.RequestId, FrameWriter.MessagesBodyLength([5]), count: 2, more: false);
            FrameWriter.WriteDeliveredMessage(w, 7, 0, new byte[5]);
        });

        var ex = await Assert.ThrowsAsync<RelayException>(() => pull.Within());
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
        Assert.False(ex.ConnectionClosed);
        await AssertStillUsableAsync(client, server);
    }

    [Fact]
    public async Task A_reply_of_the_wrong_type_fails_that_request_with_MalformedFrame_and_the_connection_stays_usable()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pull = client.PullAsync(Address, 10);
        var request = await server.ReadFrameAsync();

        await server.PongAsync(request.Header.RequestId);

        var ex = await Assert.ThrowsAsync<RelayException>(() => pull.Within());
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
        Assert.False(ex.ConnectionClosed);
        await AssertStillUsableAsync(client, server);
    }

    [Fact]
    public async Task An_ERROR_reply_whose_body_does_not_parse_fails_that_request_with_MalformedFrame()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ping = client.PingAsync();
        var request = await server.ReadFrameAsync();

        // Code 22, a reason said to be 10 bytes long, and 2 bytes of it.
        await server.SendRawAsync([.. FakeConnection.Header(5, FrameType.Error, 0, request.Header.RequestId), 0, 22, 10, (byte)'n', (byte)'o']);

        var ex = await Assert.ThrowsAsync<RelayException>(() => ping.Within());
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
    }

    [Fact]
    public async Task A_DELIVER_push_that_does_not_parse_fails_every_pending_request_and_the_connection()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pings = Enumerable.Range(0, 2).Select(_ => client.PingAsync()).ToArray();
        await server.ReadFramesAsync(pings.Length);

        await server.SendRawAsync([.. FakeConnection.Header(5, FrameType.Deliver, 0, 0), 1, 2, 3, 4, 5]);

        await AssertConnectionFailedAsync(client, pings);
    }

    /// <summary>
    /// Each pending request fails with MALFORMED_FRAME and an exception that says the connection is over,
    /// and a new request is refused at once rather than sent on a stream nobody can read any more.
    /// </summary>
    private static async Task AssertConnectionFailedAsync(RelayClient client, params Task[] pending)
    {
        foreach (var task in pending)
        {
            var ex = await Assert.ThrowsAsync<RelayException>(() => task.Within());
            Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
            Assert.True(ex.ConnectionClosed, "The client gave up on the connection, so its exception must say so.");
        }

        var late = client.PingAsync();
        Assert.True(late.IsFaulted, "A request on a failed connection should fail before it returns.");
        await Assert.ThrowsAsync<RelayException>(() => late);
    }

    private static async Task AssertStillUsableAsync(RelayClient client, FakeConnection server)
    {
        var ping = client.PingAsync();
        var request = await server.ReadFrameAsync();
        Assert.Equal(FrameType.Ping, request.Header.Type);
        await server.PongAsync(request.Header.RequestId);
        await ping.Within();
    }
}
