using System.Text;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client.Tests;

/// <remarks>
/// The real relay in this process on the real clock; the subscriber on a fake clock, so that its back-off
/// waits last exactly until the test moves the clock (it announces a wait once its timer exists).
/// </remarks>
public sealed class RelaySubscriberTests : IAsyncLifetime
{
    private readonly ObservableClock _clock = new(DateTimeOffset.UtcNow);
    private readonly List<Key> _keys = [];
    private LoopbackRelay _relay = null!;

    public async Task InitializeAsync() => _relay = await LoopbackRelay.StartAsync();

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        _keys.ForEach(k => k.Dispose());
    }

    [Fact]
    public async Task After_a_relay_restart_it_resubscribes_redelivers_what_was_not_acked_and_delivers_what_comes_next()
    {
        var (card, owner) = await CreateAddressAsync();
        await using var subscriber = NewSubscriber();
        await subscriber.AddAsync(card.Aid, owner);
        subscriber.Start();
        Assert.Equal([card.Aid], (await NextEventAsync<SubscriberConnected>(subscriber)).Addresses);

        await SendAsync(card, "one", "two");
        var one = await NextDeliveryAsync(subscriber);
        var two = await NextDeliveryAsync(subscriber);
        Assert.Equal(["one", "two"], new[] { Text(one), Text(two) });
        await subscriber.AckAsync(card.Aid, [one.Message.Id]);

        await _relay.StopAsync();
        var reconnecting = await NextEventAsync<SubscriberReconnecting>(subscriber);
        Assert.Equal(1, reconnecting.Attempt);
        Assert.Equal(SubscriberState.Reconnecting, subscriber.State);
        await Assert.ThrowsAsync<RelayException>(() => subscriber.AckAsync(card.Aid, [two.Message.Id]));

        await _relay.StartAgainAsync();
        _clock.Advance(reconnecting.Delay);
        Assert.Equal([card.Aid], (await NextEventAsync<SubscriberConnected>(subscriber)).Addresses);
        await SendAsync(card, "three");

        // The backlog is pushed at SUBSCRIBE, before anything sent afterwards: "two" again (same id), never
        // "one", which was acknowledged, and then "three".
        var again = await NextDeliveryAsync(subscriber);
        Assert.Equal((two.Message.Id, "two"), (again.Message.Id, Text(again)));
        var three = await NextDeliveryAsync(subscriber);
        Assert.Equal("three", Text(three));
        await subscriber.AckAsync(card.Aid, [two.Message.Id, three.Message.Id]);
        await AssertNothingPendingAsync(card.Aid, owner);
    }

    [Fact]
    public async Task An_address_refused_at_AUTH_is_reported_and_dropped_and_the_others_keep_working()
    {
        var (good, owner) = await CreateAddressAsync();
        var (wrongKey, _) = await CreateAddressAsync();
        var unknown = new AddressId(0x1234, 0x5678);
        await using var subscriber = NewSubscriber();
        await subscriber.AddAsync(good.Aid, owner);
        await subscriber.AddAsync(wrongKey.Aid, NewKey());
        await subscriber.AddAsync(unknown, NewKey());
        subscriber.Start();

        var faults = new Dictionary<AddressId, ErrorCode>();
        SubscriberConnected? connected = null;
        while (connected is null)
        {
            switch (await subscriber.Events.ReadAsync().AsTask().Within())
            {
                case SubscriberAddressFaulted fault: faults.Add(fault.Address, fault.Error.Code); break;
                case SubscriberConnected c: connected = c; break;
                case var other: Assert.Fail($"unexpected {other}"); break;
            }
        }

        Assert.Equal(new Dictionary<AddressId, ErrorCode> { [wrongKey.Aid] = ErrorCode.BadSignature, [unknown] = ErrorCode.AddressUnknown }, faults);
        Assert.Equal([good.Aid], connected.Addresses);
        Assert.Equal([good.Aid], subscriber.Addresses);
        await SendAsync(good, "still here");
        Assert.Equal("still here", Text(await NextDeliveryAsync(subscriber)));

        // Added while running, refused: the caller hears it, and so does whoever reads the events.
        var refused = await Assert.ThrowsAsync<RelayException>(() => subscriber.AddAsync(wrongKey.Aid, NewKey()));
        Assert.Equal(ErrorCode.BadSignature, refused.Code);
        Assert.Equal(wrongKey.Aid, (await NextEventAsync<SubscriberAddressFaulted>(subscriber)).Address);

        // Not retried on the next connection either.
        await _relay.StopAsync();
        var reconnecting = await NextEventAsync<SubscriberReconnecting>(subscriber);
        await _relay.StartAgainAsync();
        _clock.Advance(reconnecting.Delay);
        Assert.IsType<SubscriberConnected>(await subscriber.Events.ReadAsync().AsTask().Within());
        Assert.Equal([good.Aid], subscriber.Addresses);
    }

    [Fact]
    public async Task Addresses_added_and_removed_while_running_are_subscribed_and_unsubscribed_on_the_live_connection()
    {
        var (first, firstOwner) = await CreateAddressAsync();
        var (second, secondOwner) = await CreateAddressAsync();
        await using var subscriber = NewSubscriber();
        await subscriber.AddAsync(first.Aid, firstOwner, DeliveryPolicy.Immediate);
        subscriber.Start();
        await NextEventAsync<SubscriberConnected>(subscriber);

        await subscriber.AddAsync(second.Aid, secondOwner, DeliveryPolicy.Immediate);
        await SendAsync(second, "to the second");
        var delivered = await NextDeliveryAsync(subscriber);
        Assert.Equal((second.Aid, "to the second"), (delivered.Address, Text(delivered)));

        await SendAsync(first, "to the first");
        var inFlight = await NextDeliveryAsync(subscriber);
        Assert.Equal(first.Aid, inFlight.Address);
        Assert.True(await subscriber.RemoveAsync(first.Aid));
        Assert.False(await subscriber.RemoveAsync(first.Aid));
        Assert.Equal([second.Aid], subscriber.Addresses);
        await Assert.ThrowsAsync<InvalidOperationException>(() => subscriber.AckAsync(first.Aid, [inFlight.Message.Id]));

        // Unsubscribed: the message it had in flight is pending again, so a PULL elsewhere gets it.
        await using var other = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        await other.AuthenticateAsync(first.Aid, firstOwner);
        var pulled = await other.PullAsync(first.Aid);
        Assert.Equal([inFlight.Message.Id], pulled.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task Acknowledging_an_id_twice_in_a_batch_with_a_new_one_acknowledges_the_new_one()
    {
        var (card, owner) = await CreateAddressAsync();
        await using var subscriber = NewSubscriber();
        await subscriber.AddAsync(card.Aid, owner);
        subscriber.Start();
        await NextEventAsync<SubscriberConnected>(subscriber);
        await SendAsync(card, "a", "b");
        var a = await NextDeliveryAsync(subscriber);
        var b = await NextDeliveryAsync(subscriber);
        await subscriber.AckAsync(card.Aid, [a.Message.Id]);

        // "a" is no longer pending, which makes a plain ACK of both refuse both (UNKNOWN_MESSAGE).
        await subscriber.AckAsync(card.Aid, [a.Message.Id, b.Message.Id]);

        await AssertNothingPendingAsync(card.Aid, owner);
    }

    private RelaySubscriber NewSubscriber() =>
        new(_relay.Endpoint, new RelaySubscriberOptions { Client = { TimeProvider = _clock, KeepAliveInterval = null } });

    private Key NewKey()
    {
        var key = Key.Create(SignatureAlgorithm.Ed25519);
        _keys.Add(key);
        return key;
    }

    private async Task<(Addressing.AddressCard Card, Key Owner)> CreateAddressAsync()
    {
        var owner = NewKey();
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        return ((await client.CreateAddressAsync(owner.PublicKey)).Card, owner);
    }

    private async Task SendAsync(Addressing.AddressCard card, params string[] texts)
    {
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        foreach (var text in texts)
        {
            await client.SendAsync(card, Encoding.UTF8.GetBytes(text));
        }
    }

    private async Task AssertNothingPendingAsync(AddressId address, Key owner)
    {
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        await client.AuthenticateAsync(address, owner);
        Assert.Empty((await client.PullAsync(address)).Messages);
    }

    private static string Text(AddressedMessage message) => Encoding.UTF8.GetString(message.Message.Ciphertext.Span);

    private static Task<AddressedMessage> NextDeliveryAsync(RelaySubscriber subscriber) =>
        subscriber.Deliveries.ReadAsync().AsTask().Within();

    /// <summary>Reads events up to the next one of type <typeparamref name="T"/>; a fault or stop on the way fails the test.</summary>
    internal static async Task<T> NextEventAsync<T>(RelaySubscriber subscriber)
        where T : SubscriberEvent
    {
        while (true)
        {
            var e = await subscriber.Events.ReadAsync().AsTask().Within();
            if (e is T wanted)
            {
                return wanted;
            }

            Assert.False(e is SubscriberAddressFaulted or SubscriberFaulted, $"unexpected {e}");
        }
    }
}
