using NSec.Cryptography;

namespace EdgeRelay.Client.Tests;

/// <remarks>
/// The real relay and the clients share one fake clock. The relay's idle watchdog runs inside
/// <c>Advance</c>; a client's keepalive wakes there too and PINGs over loopback, and its next wait (a full
/// interval again) is created only once the PONG is back: waiting for that timer is how the test knows the
/// relay has seen the PING before the clock moves on. That is the same method as the relay's own idle-timeout
/// test (LifecycleTests in the server's tests).
/// </remarks>
public class KeepAliveRelayTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Keepalive_holds_a_quiet_connection_open_past_the_relays_idle_timeout_which_closes_one_without()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await LoopbackRelay.StartAsync(o => o.Relay.IdleTimeout = IdleTimeout, clock);
        var parked = clock.WhenTimerCreated(Interval, Interval);
        await using var kept = await RelayClient.ConnectAsync(relay.SocketEndPoint, new RelayClientOptions { KeepAliveInterval = Interval, KeepAliveTimeout = TimeSpan.FromSeconds(5), TimeProvider = clock });
        await using var bare = await RelayClient.ConnectAsync(relay.SocketEndPoint, new RelayClientOptions { KeepAliveInterval = null, TimeProvider = clock });
        await parked.Within();

        // 30 s of the relay's time, three idle timeouts; the kept connection PINGs every 3 s of it.
        for (var round = 0; round < 10; round++)
        {
            var pinged = clock.WhenTimerCreated(Interval, Interval);
            clock.Advance(Interval);
            await pinged.Within();
        }

        await Eventually.TrueAsync(
            () => relay.Host.Server.ConnectionCount == 1,
            () => $"the relay to close the connection without keepalive ({relay.Host.Server.ConnectionCount} open)");
        await kept.PingAsync().Within();
        var closed = await Assert.ThrowsAsync<RelayException>(() => bare.PingAsync().Within());
        Assert.True(closed.ConnectionClosed);
    }

    [Fact]
    public async Task A_subscriber_on_a_quiet_connection_still_gets_a_message_after_three_idle_timeouts_without_reconnecting()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        await using var relay = await LoopbackRelay.StartAsync(o => o.Relay.IdleTimeout = IdleTimeout, clock);
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        Addressing.AddressCard card;
        await using (var admin = await RelayClient.ConnectAsync(relay.SocketEndPoint, new RelayClientOptions { TimeProvider = clock }))
        {
            card = (await admin.CreateAddressAsync(owner.PublicKey)).Card;
        }

        await using var subscriber = new RelaySubscriber(relay.Endpoint, new RelaySubscriberOptions
        {
            Client = { KeepAliveInterval = Interval, KeepAliveTimeout = TimeSpan.FromSeconds(5), TimeProvider = clock },
        });
        await subscriber.AddAsync(card.Aid, owner);
        var parked = clock.WhenTimerCreated(Interval, Interval);
        subscriber.Start();
        await RelaySubscriberTests.NextEventAsync<SubscriberConnected>(subscriber);
        await parked.Within();

        for (var round = 0; round < 10; round++)
        {
            var pinged = clock.WhenTimerCreated(Interval, Interval);
            clock.Advance(Interval);
            await pinged.Within();
        }

        await using (var sender = await RelayClient.ConnectAsync(relay.SocketEndPoint, new RelayClientOptions { KeepAliveInterval = null }))
        {
            await sender.SendAsync(card, "after the quiet"u8.ToArray());
        }

        var delivered = await subscriber.Deliveries.ReadAsync().AsTask().Within();
        Assert.Equal("after the quiet"u8.ToArray(), delivered.Message.Ciphertext.ToArray());
        Assert.False(subscriber.Events.TryRead(out var e), $"the subscriber should have kept its connection, but: {e}");
        Assert.Equal(SubscriberState.Connected, subscriber.State);
    }
}
