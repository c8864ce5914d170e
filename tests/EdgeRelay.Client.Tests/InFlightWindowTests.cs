namespace EdgeRelay.Client.Tests;

/// <summary>
/// The client keeps at most a window of requests unanswered on the wire: the smaller of its own
/// <see cref="RelayClientOptions.MaxInFlight"/> and the server's advertised limit. That a request was not
/// sent is proved by disposing the client, which flushes what it wrote and then closes: the server reads
/// to the end of the stream and counts.
/// </summary>
public class InFlightWindowTests
{
    [Theory]
    [InlineData(3, 256)]
    [InlineData(1, 256)]
    [InlineData(1024, 3)]
    public async Task Before_any_reply_only_the_window_of_requests_reaches_the_server(int serverMaxInFlight, int clientMaxInFlight)
    {
        int window = Math.Min(serverMaxInFlight, clientMaxInFlight);
        await using var relay = new FakeRelay(maxInFlight: serverMaxInFlight);
        var (client, server) = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = clientMaxInFlight });

        var pings = Enumerable.Range(0, window + 2).Select(_ => client.PingAsync()).ToArray();
        await server.ReadFramesAsync(window);

        await client.DisposeAsync().AsTask().Within();
        Assert.Empty(await server.ReadUntilClosedAsync());
    }

    [Theory]
    [InlineData(3, 256)]
    [InlineData(1, 256)]
    [InlineData(1024, 3)]
    public async Task One_reply_lets_exactly_one_more_request_onto_the_wire(int serverMaxInFlight, int clientMaxInFlight)
    {
        int window = Math.Min(serverMaxInFlight, clientMaxInFlight);
        await using var relay = new FakeRelay(maxInFlight: serverMaxInFlight);
        var (client, server) = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = clientMaxInFlight });

        var pings = Enumerable.Range(0, window + 2).Select(_ => client.PingAsync()).ToArray();
        var first = await server.ReadFramesAsync(window);
        await server.PongAsync(first[0].RequestId);
        await pings[0].Within();
        var next = await server.ReadFrameAsync();
        Assert.Equal(first[^1].RequestId + 1, next.Header.RequestId);

        await client.DisposeAsync().AsTask().Within();
        Assert.Empty(await server.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task A_cancelled_request_keeps_its_window_slot_until_its_reply_arrives()
    {
        await using var relay = new FakeRelay(maxInFlight: 2);
        var (client, server) = await relay.ConnectAsync();
        using var cancel = new CancellationTokenSource();

        var cancelled = client.PingAsync(cancel.Token);
        var unanswered = client.PingAsync();
        await server.ReadFramesAsync(2);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());

        // Both requests are still unanswered on the wire, so the window is full: this one must wait.
        var third = client.PingAsync();

        await client.DisposeAsync().AsTask().Within();
        Assert.Empty(await server.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task The_late_reply_to_a_cancelled_request_frees_its_window_slot()
    {
        await using var relay = new FakeRelay(maxInFlight: 1);
        var (client, server) = await relay.ConnectAsync();
        using var cancel = new CancellationTokenSource();

        var cancelled = client.PingAsync(cancel.Token);
        var cancelledRequest = await server.ReadFrameAsync();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within());

        var next = client.PingAsync();
        await server.PongAsync(cancelledRequest.Header.RequestId);
        var nextRequest = await server.ReadFrameAsync();
        await server.PongAsync(nextRequest.Header.RequestId);
        await next.Within();
    }

    [Fact]
    public async Task A_request_cancelled_while_it_waits_for_a_window_slot_is_never_sent()
    {
        await using var relay = new FakeRelay(maxInFlight: 1);
        var (client, server) = await relay.ConnectAsync();
        using var cancel = new CancellationTokenSource();

        var first = client.PingAsync();
        var firstRequest = await server.ReadFrameAsync();
        var waiting = client.PingAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.Within());
        await server.PongAsync(firstRequest.Header.RequestId);
        await first.Within();

        await client.DisposeAsync().AsTask().Within();
        Assert.Empty(await server.ReadUntilClosedAsync());
    }
}
