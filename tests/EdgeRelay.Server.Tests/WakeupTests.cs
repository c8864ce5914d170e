using EdgeRelay.Client;
using EdgeRelay.Delivery;
using EdgeRelay.Server;
using EdgeRelay.Server.Webhooks;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>Wake-ups for owners that are not connected, through the shipped webhook notifier, to a real HTTP receiver on loopback.</summary>
/// <remarks>
/// <para>
/// The relay runs on a fake clock, so the quiet period never passes by itself and the notifier's back-off
/// waits until the test advances the clock past it. The hub decides on each SEND before the SEND's OK, and
/// counts a suppressed wake-up at once: after an OK, what the hub decided for that message is known, so
/// "no wake-up" is read from its counters rather than waited for.
/// </para>
/// <para>
/// The decision itself (once per burst, only once durable, again after the owner returns or the quiet period
/// passes, never for pull-only or subscribed addresses) is tested precisely on a fake notifier in
/// EdgeRelay.Delivery.Tests' WakeupTests; these tests keep what needs the real path: the SEND, the hub, the
/// notifier and a POST on the wire, with its body, its path and its retries.
/// </para>
/// </remarks>
public sealed class WakeupTests : IAsyncLifetime
{
    private const string ProbePath = "/probe";
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);

    private readonly ObservableClock _clock = new(DateTimeOffset.UtcNow);
    private WakeReceiver _receiver = null!;
    private TestRelay _relay = null!;
    private Owner _owner = null!;

    private PushHub Hub => _relay.Host.Server.Push;

    private WebhookNotifier Notifier => Assert.IsType<WebhookNotifier>(_relay.Host.Server.Notifier);

    public async Task InitializeAsync()
    {
        _receiver = await WakeReceiver.StartAsync(_clock);
        _relay = await TestRelay.StartAsync(Configure, _clock);
        _owner = new Owner();
    }

    public async Task DisposeAsync()
    {
        _owner.Dispose();
        await _relay.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task A_burst_for_an_offline_owner_wakes_it_once_and_the_next_burst_after_it_came_back_wakes_it_again()
    {
        var created = await CreateWithEndpointAsync("/up/one");
        await using var sender = await _relay.ConnectAsync();
        for (var i = 0; i < 5; i++)
        {
            await sender.SendAsync(created.Card, BitConverter.GetBytes(i));
        }

        // Every message of the burst is accounted for: the first woke the owner, the other four were suppressed.
        Assert.Equal(4, Hub.WakeupsSuppressed);
        await Eventually.TrueAsync(() => _receiver.Count >= 1, "the burst's wake-up");
        Assert.Equal(1, Hub.Wakeups);
        var wake = Assert.Single(_receiver.Received);
        Assert.Equal("POST", wake.Method);
        Assert.Equal("/up/one", wake.PathAndQuery);
        Assert.Equal("wake", wake.Body); // content-free: nothing of the messages, not even the address

        // The owner comes back (PULL), then goes away again: the next message wakes it again.
        await using (var rm = await _relay.ConnectAsync())
        {
            await rm.AuthenticateAsync(created.Id, _owner.Key);
            var pulled = await rm.PullAsync(created.Id);
            await rm.AckAsync(created.Id, pulled.Messages.Select(m => m.Id).ToArray());
        }

        var cameBack = _receiver.Mark();
        await sender.SendAsync(created.Card, "again"u8.ToArray());
        Assert.Equal(4, Hub.WakeupsSuppressed);
        await Eventually.TrueAsync(() => _receiver.To("/up/one").Count >= 2, "the wake-up after the owner came back");
        Assert.True(_receiver.To("/up/one")[1].Order > cameBack, "a second wake-up came before the owner was back");
        Assert.Equal(2, Hub.Wakeups);

        await WhenNotifierIdleAsync();
        Assert.Equal(2, _receiver.To("/up/one").Count);
    }

    [Fact]
    public async Task A_failed_wakeup_is_retried()
    {
        var created = await CreateWithEndpointAsync("/up/retry");
        _receiver.Respond([503, 500]);
        var start = _clock.GetUtcNow();
        var parked = _clock.WhenTimerCreated(InitialBackoff);
        await using var sender = await _relay.ConnectAsync();
        await sender.SendAsync(created.Card, "hello"u8.ToArray());
        Assert.Equal(start, (await WhenReceivedAsync(1)).At);

        // Each retry waits its back-off on the relay's clock, and comes the moment the clock reaches its end.
        var due = start;
        for (var retry = 1; retry <= 2; retry++)
        {
            var backoff = await parked.Within();
            var expected = InitialBackoff * Math.Pow(2, retry - 1);
            Assert.InRange(backoff, expected, expected * 1.2);
            await Eventually.TrueAsync(() => Notifier.Retries >= retry, $"retry {retry} counted");
            Assert.Equal(retry, Notifier.Retries);
            Assert.Equal(retry, _receiver.Count);
            parked = _clock.WhenTimerCreated(InitialBackoff);
            _clock.Advance(backoff - TimeSpan.FromTicks(1));
            _clock.Advance(TimeSpan.FromTicks(1));
            due += backoff;
            var sent = await WhenReceivedAsync(retry + 1);
            Assert.Equal(due, sent.At);
        }

        await Eventually.TrueAsync(() => Notifier.Delivered >= 1, "delivered on the second retry");
        Assert.Equal(3, _receiver.Count); // two failures, one success
        Assert.All(_receiver.Received, r => Assert.Equal("/up/retry", r.PathAndQuery));
        Assert.Equal((1L, 2L, 0L), (Notifier.Delivered, Notifier.Retries, Notifier.Failed));

        // ... and no more.
        await WhenNotifierIdleAsync();
        Assert.Equal(3, _receiver.To("/up/retry").Count);
    }

    [Fact]
    public async Task A_connected_subscriber_or_a_pull_only_policy_means_no_wakeup()
    {
        var subscribed = await CreateWithEndpointAsync("/up/subscribed");
        var pullOnly = await CreateWithEndpointAsync("/up/pull-only");
        await using var rm = await _relay.ConnectAsync();
        await rm.AuthenticateAsync([(subscribed.Id, _owner.Key), (pullOnly.Id, _owner.Key)]);
        await rm.SetPolicyAsync(pullOnly.Id, DeliveryPolicy.PullOnly);
        await using var subscription = await rm.SubscribeAsync(subscribed.Id, credit: 10);

        // Two messages each. A wake-up starts by marking its address, which suppresses the rest of the burst:
        // none suppressed after the OKs (when the hub has decided for every message) means none was started.
        await using var sender = await _relay.ConnectAsync();
        await sender.SendAsync(subscribed.Card, "pushed"u8.ToArray());
        Assert.Single(await PushTests.ReadAsync(subscription));
        await sender.SendAsync(subscribed.Card, "pushed again"u8.ToArray());
        Assert.Single(await PushTests.ReadAsync(subscription));
        await sender.SendAsync(pullOnly.Card, "pulled"u8.ToArray());
        await sender.SendAsync(pullOnly.Card, "pulled again"u8.ToArray());
        Assert.Equal((0L, 0L), (Hub.Wakeups, Hub.WakeupsSuppressed));

        // An offline owner with the same relay, notifier and receiver is woken: the silence above is not theirs.
        var control = await CreateWithEndpointAsync("/up/control");
        await sender.SendAsync(control.Card, "wake"u8.ToArray());
        await Eventually.TrueAsync(() => _receiver.Count >= 1, "the control address' wake-up");
        Assert.Equal("/up/control", Assert.Single(_receiver.Received).PathAndQuery);
        Assert.Equal((1L, 0L), (Hub.Wakeups, Hub.WakeupsSuppressed));
        Assert.Equal(0, Notifier.Dropped);
    }

    private static void Configure(EdgeRelayOptions options)
    {
        options.Notify.AllowHttp = true;
        options.Notify.AllowPrivateNetworks = true; // the receiver is on loopback
        options.Notify.InitialBackoff = InitialBackoff;

        // Each test has one wake-up pending at a time; with room for one only, the probe of
        // WhenNotifierIdleAsync is taken only once the notifier holds nothing else.
        options.Notify.MaxQueue = 1;
    }

    /// <summary>
    /// Waits until the relay's notifier holds no wake-up: with room for one endpoint only it takes the probe
    /// only then, and it posts only what it holds, so nothing the test caused can be posted or retried after.
    /// </summary>
    private Task WhenNotifierIdleAsync() =>
        Eventually.TrueAsync(() => Notifier.Wake(_receiver.Url(ProbePath)), "the notifier to be done with every wake-up it held");

    private async Task<ReceivedWake> WhenReceivedAsync(int count)
    {
        await Eventually.TrueAsync(() => _receiver.Count >= count, () => $"request {count} at the receiver (got {_receiver.Count})");
        return _receiver.Received[count - 1];
    }

    private async Task<CreatedAddress> CreateWithEndpointAsync(string path)
    {
        await using var rm = await _relay.ConnectAsync();
        var created = await _owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, _owner.Key);
        await rm.SetNotifyEndpointAsync(created.Id, _receiver.Url(path));
        return created;
    }
}
