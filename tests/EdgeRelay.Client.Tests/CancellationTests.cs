using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

public class CancellationTests
{
    private static readonly AddressId Address = new(1, 2);

    [Fact]
    public async Task Cancelling_a_request_the_server_never_answers_throws_OperationCanceledException()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        using var cancel = new CancellationTokenSource();

        var ping = client.PingAsync(cancel.Token);
        await server.ReadFrameAsync();
        await cancel.CancelAsync();

        // The server never answers: only the cancellation can end this call within the bound.
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ping.Within());
        Assert.Equal(cancel.Token, ex.CancellationToken);
    }

    [Fact]
    public async Task A_late_reply_to_a_cancelled_request_is_dropped_and_the_next_request_gets_its_own_reply()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        using var cancel = new CancellationTokenSource();

        var cancelled = client.PullAsync(Address, 10, cancel.Token);
        var cancelledRequest = await server.ReadFrameAsync();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());

        var next = client.PullAsync(Address, 10);
        var nextRequest = await server.ReadFrameAsync();
        await server.MessagesAsync(cancelledRequest.Header.RequestId, 111);
        await server.MessagesAsync(nextRequest.Header.RequestId, 222);

        var result = await next.Within();
        Assert.Equal([222L], result.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task A_request_whose_token_is_already_cancelled_is_never_sent()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PingAsync(new CancellationToken(canceled: true)).Within());

        await client.DisposeAsync().AsTask().Within();
        Assert.Empty(await server.ReadUntilClosedAsync());
    }
}
