using System.Net;
using System.Net.Sockets;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client.Tests;

/// <remarks>
/// On a fake clock. The subscriber announces each wait once its timer exists, so moving the clock by the
/// announced delay is what ends the wait: no sleeping, and a wait that ignored the clock would hang the test.
/// </remarks>
public class RelaySubscriberBackoffTests
{
    [Fact]
    public async Task While_the_relay_cannot_be_reached_the_delays_double_from_the_initial_one_and_stop_at_the_maximum()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        var initial = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromSeconds(8);
        await using var subscriber = new RelaySubscriber(NobodyListening(), new RelaySubscriberOptions
        {
            Client = { TimeProvider = clock },
            InitialReconnectDelay = initial,
            MaxReconnectDelay = max,
        });
        subscriber.Start();

        var previousCeiling = TimeSpan.Zero;
        var previousDelay = TimeSpan.Zero;
        for (var attempt = 1; attempt <= 8; attempt++)
        {
            var e = await RelaySubscriberTests.NextEventAsync<SubscriberReconnecting>(subscriber);
            Assert.Equal(attempt, e.Attempt);
            Assert.IsType<SocketException>(e.Error);

            // The ceiling doubles (1, 2, 4, 8 s) and then stays at the maximum; the jitter takes the upper half.
            var ceiling = TimeSpan.FromTicks(Math.Min(max.Ticks, initial.Ticks << (attempt - 1)));
            Assert.InRange(e.Delay, ceiling / 2, ceiling);
            if (ceiling > previousCeiling)
            {
                // Below the cap each draw's range starts where the previous one's ended: the waits never shrink.
                Assert.True(e.Delay >= previousDelay, $"attempt {attempt} waited {e.Delay}, less than the {previousDelay} before it");
            }

            previousCeiling = ceiling;
            previousDelay = e.Delay;
            clock.Advance(e.Delay);
        }

        Assert.Equal(max, previousCeiling);
        Assert.Equal(SubscriberState.Reconnecting, subscriber.State);
    }

    [Fact]
    public async Task Disposing_during_a_back_off_returns_without_the_wait_and_ends_the_deliveries()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        var subscriber = new RelaySubscriber(NobodyListening(), new RelaySubscriberOptions
        {
            Client = { TimeProvider = clock },
            InitialReconnectDelay = TimeSpan.FromHours(1),
            MaxReconnectDelay = TimeSpan.FromHours(1),
        });
        subscriber.Start();
        await RelaySubscriberTests.NextEventAsync<SubscriberReconnecting>(subscriber);

        // The clock never moves: a disposal that waited for the back-off would never return.
        await subscriber.DisposeAsync().AsTask().Within();

        Assert.Equal(SubscriberState.Disposed, subscriber.State);
        await subscriber.Deliveries.Completion.Within();
        await subscriber.Events.Completion.Within();
    }

    [Fact]
    public async Task A_relay_that_speaks_no_version_of_the_protocol_stops_the_subscriber_with_that_error_instead_of_retrying()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var subscriber = new RelaySubscriber(listener.LocalEndpoint.ToString()!, new RelaySubscriberOptions { Client = { TimeProvider = clock } });
        subscriber.Start();
        using var server = new FakeConnection(await listener.AcceptSocketAsync().Within());
        var hello = await server.ReadFrameAsync();
        await server.ErrorAsync(hello.Header.RequestId, ErrorCode.UnsupportedVersion, "no common version");

        var stopped = await RelaySubscriberTests.NextEventAsync<SubscriberFaulted>(subscriber);
        Assert.Equal(ErrorCode.UnsupportedVersion, Assert.IsType<RelayException>(stopped.Error).Code);
        var ended = await Assert.ThrowsAsync<RelayException>(() => subscriber.Deliveries.Completion.Within());
        Assert.Equal(ErrorCode.UnsupportedVersion, ended.Code);
        Assert.Equal(SubscriberState.Faulted, subscriber.State);
    }

    [Fact]
    public async Task The_options_and_the_arguments_are_checked()
    {
        var options = new RelaySubscriberOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.InitialReconnectDelay = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxReconnectDelay = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Credit = 0);
        Assert.Throws<ArgumentNullException>(() => options.Client = null!);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RelaySubscriber("127.0.0.1:1", new RelaySubscriberOptions
        {
            InitialReconnectDelay = TimeSpan.FromSeconds(10),
            MaxReconnectDelay = TimeSpan.FromSeconds(5),
        }));

        await using var subscriber = new RelaySubscriber("127.0.0.1:1");
        using var x25519 = Key.Create(KeyAgreementAlgorithm.X25519);
        using var owner = Key.Create(SignatureAlgorithm.Ed25519);
        await Assert.ThrowsAsync<ArgumentException>(() => subscriber.AddAsync(new AddressId(1, 1), x25519));
        await Assert.ThrowsAsync<ArgumentException>(() => subscriber.AddAsync(new AddressId(1, 1), owner, new DeliveryPolicy(DeliveryPolicyKind.Batched, 0)));
        await subscriber.AddAsync(new AddressId(1, 1), owner);
        await Assert.ThrowsAsync<InvalidOperationException>(() => subscriber.AddAsync(new AddressId(1, 1), owner));
        Assert.Equal(SubscriberState.NotStarted, subscriber.State);
    }

    /// <summary>A loopback port nothing listens on: connecting is refused at once.</summary>
    private static string NobodyListening()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = listener.LocalEndpoint.ToString()!;
        listener.Stop();
        return endpoint;
    }
}
