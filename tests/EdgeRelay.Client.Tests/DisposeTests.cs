namespace EdgeRelay.Client.Tests;

/// <summary>
/// Closing a connection whose relay has stopped reading: the client's writes are blocked behind full socket
/// buffers, and only closing the socket ends them. On a fake clock, so the bound is moved past, not waited for.
/// </summary>
public class DisposeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Disposing_while_the_relay_takes_no_bytes_waits_the_keepalive_timeout_for_the_flush_then_closes()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync(new RelayClientOptions { MaxInFlight = 1024, KeepAliveInterval = TimeSpan.FromHours(1), KeepAliveTimeout = Timeout, TimeProvider = clock });

        // The relay reads nothing after HELLO: 16 MiB of SENDs is far more than the socket buffers hold.
        var address = new byte[73];
        address[0] = 1;
        var ciphertext = new byte[16 * 1024];
        var sends = Enumerable.Range(0, 1024).Select(_ => client.SendAsync(address, ciphertext)).ToArray();
        var flushing = clock.WhenTimerCreated(Timeout, Timeout);

        var disposing = client.DisposeAsync().AsTask();
        await flushing.Within(); // it used to wait for the blocked write with no bound at all
        Assert.False(disposing.IsCompleted, "the write never blocked: the test did not fill the buffers");
        clock.Advance(Timeout);

        await disposing.Within();
        var failed = await Assert.ThrowsAsync<RelayException>(() => sends[^1].Within());
        Assert.True(failed.ConnectionClosed);
        server.Dispose();
    }
}
