using EdgeRelay.Client;
using EdgeRelay.Server;

namespace EdgeRelay.Server.Tests;

/// <summary>Wake-ups for owners that are not connected, through the shipped webhook notifier, to a real HTTP receiver on loopback.</summary>
public sealed class WakeupTests : IAsyncLifetime
{
    private WakeReceiver _receiver = null!;
    private TestRelay _relay = null!;
    private Owner _owner = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WakeReceiver.StartAsync();
        _relay = await TestRelay.StartAsync(Configure);
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

        await WaitForAsync(() => _receiver.Count >= 1);
        await Task.Delay(500);
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

        await sender.SendAsync(created.Card, "again"u8.ToArray());
        await WaitForAsync(() => _receiver.Count >= 2);
        await Task.Delay(300);
        Assert.Equal(2, _receiver.Count);
    }

    [Fact]
    public async Task A_failed_wakeup_is_retried()
    {
        var created = await CreateWithEndpointAsync("/up/retry");
        _receiver.Respond([503, 500]);
        await using var sender = await _relay.ConnectAsync();
        await sender.SendAsync(created.Card, "hello"u8.ToArray());

        await WaitForAsync(() => _receiver.Count >= 3);
        await Task.Delay(300);
        Assert.Equal(3, _receiver.Count); // two failures, one success, and no more
        Assert.All(_receiver.Received, r => Assert.Equal("/up/retry", r.PathAndQuery));
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

        await using var sender = await _relay.ConnectAsync();
        await sender.SendAsync(subscribed.Card, "pushed"u8.ToArray());
        await sender.SendAsync(pullOnly.Card, "pulled"u8.ToArray());

        Assert.Single(await PushTests.ReadAsync(subscription));
        await Task.Delay(500);
        Assert.Equal(0, _receiver.Count);
    }

    private static void Configure(EdgeRelayOptions options)
    {
        options.Notify.AllowHttp = true;
        options.Notify.AllowPrivateNetworks = true; // the receiver is on loopback
        options.Notify.InitialBackoff = TimeSpan.FromMilliseconds(100);
    }

    private async Task<CreatedAddress> CreateWithEndpointAsync(string path)
    {
        await using var rm = await _relay.ConnectAsync();
        var created = await _owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync(created.Id, _owner.Key);
        await rm.SetNotifyEndpointAsync(created.Id, _receiver.Url(path));
        return created;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(20);
        }
    }
}
