using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <remarks>
/// On a fake clock against the scripted relay. The keepalive loop waits on the clock, so a test knows the loop
/// is parked (and for how long) when the clock reports the timer it created, and moves the clock past it
/// instead of sleeping. The waits: keepalive 5 s, PING timeout 4 s, and whatever remains of the 5 s since the
/// last frame sent; all distinct, so each timer is recognised by its length.
/// </remarks>
public class KeepAliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task A_PING_goes_out_once_the_client_has_sent_nothing_for_the_interval_counted_from_its_last_frame()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = new FakeRelay();
        var parked = clock.WhenTimerCreated(Interval, Interval);
        var (client, server) = await relay.ConnectAsync(Options(clock));
        await parked.Within();

        // The app sends at 3 s: the connection is not quiet, so at 5 s the loop waits the 3 s still missing.
        clock.Advance(TimeSpan.FromSeconds(3));
        var appPing = client.PingAsync();
        var request = await server.ReadFrameAsync();
        await server.PongAsync(request.Header.RequestId);
        await appPing.Within();
        var rest = clock.WhenTimerCreated(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));
        clock.Advance(TimeSpan.FromSeconds(2));
        await rest.Within();

        // At 8 s, 5 s after the app's frame: the keepalive PING.
        var next = clock.WhenTimerCreated(Interval, Interval);
        clock.Advance(TimeSpan.FromSeconds(3));
        var keepAlive = await server.ReadFrameAsync();
        Assert.Equal(FrameType.Ping, keepAlive.Header.Type);
        Assert.Empty(keepAlive.Body);
        await server.PongAsync(keepAlive.Header.RequestId);

        // Answered: the loop waits a full interval again, and the connection is fine.
        await next.Within();
        var after = client.PingAsync();
        await server.PongAsync((await server.ReadFrameAsync()).Header.RequestId);
        await after.Within();
    }

    [Fact]
    public async Task A_keepalive_PING_without_answer_within_the_timeout_fails_the_connection_and_closes_it()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = new FakeRelay();
        var parked = clock.WhenTimerCreated(Interval, Interval);
        var (client, server) = await relay.ConnectAsync(Options(clock));
        await parked.Within();

        var waitingForPong = clock.WhenTimerCreated(PingTimeout, PingTimeout);
        clock.Advance(Interval);
        Assert.Equal(FrameType.Ping, (await server.ReadFrameAsync()).Header.Type);
        await waitingForPong.Within();

        // The peer is silent (a dead relay, a path that drops everything): not answered by the timeout.
        clock.Advance(PingTimeout);

        var ex = await Assert.ThrowsAsync<RelayException>(() => client.PingAsync().Within());
        Assert.True(ex.ConnectionClosed);
        Assert.Equal(ErrorCode.None, ex.Code);
        Assert.Contains("keepalive", ex.Message, StringComparison.Ordinal);

        // And the client closed its end rather than leaving the socket to TCP's own, much longer, give-up.
        await server.ReadUntilClosedAsync().Within();
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public async Task Without_keepalive_a_quiet_connection_sends_nothing(int? seconds)
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = new FakeRelay();
        var options = Options(clock);
        options.KeepAliveInterval = seconds is null ? null : TimeSpan.FromSeconds(seconds.Value);
        var (client, server) = await relay.ConnectAsync(options);

        clock.Advance(TimeSpan.FromHours(1));
        await client.DisposeAsync();

        Assert.Empty(await server.ReadUntilClosedAsync().Within());
    }

    [Fact]
    public void The_options_refuse_a_negative_interval_a_timeout_that_is_not_positive_and_no_clock()
    {
        var options = new RelayClientOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.KeepAliveInterval = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.KeepAliveTimeout = TimeSpan.Zero);
        Assert.Throws<ArgumentNullException>(() => options.TimeProvider = null!);
        Assert.Equal(RelayClientOptions.DefaultKeepAliveInterval, options.KeepAliveInterval);
        Assert.True(options.KeepAliveInterval < TimeSpan.FromSeconds(120) / 2, "the default must sit well inside the relay's default idle timeout");
    }

    [Fact]
    public void ForCard_keeps_the_templates_keepalive_and_clock()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        var card = new Addressing.AddressCard(new AddressId(1, 2), 4_000_000_000, new byte[32], "127.0.0.1:1");

        var options = RelayClientOptions.ForCard(card, Options(clock));

        Assert.Equal(Interval, options.KeepAliveInterval);
        Assert.Equal(PingTimeout, options.KeepAliveTimeout);
        Assert.Same(clock, options.TimeProvider);
    }

    private static RelayClientOptions Options(TimeProvider clock) =>
        new() { KeepAliveInterval = Interval, KeepAliveTimeout = PingTimeout, TimeProvider = clock };
}
