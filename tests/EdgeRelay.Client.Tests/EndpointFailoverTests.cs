using System.Net.Sockets;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Faults;
using NSec.Cryptography;

namespace EdgeRelay.Client.Tests;

/// <summary>
/// A service on several nodes, played by one relay reached two ways: through a proxy (its card endpoint, the node
/// that goes down) and directly (its alternative endpoint). Its cards name both, in that order.
/// </summary>
public sealed class EndpointFailoverTests : IAsyncLifetime
{
    private readonly ObservableClock _clock = new(DateTimeOffset.UtcNow);
    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);
    private LoopbackRelay _relay = null!;
    private FaultProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        string? proxied = null;
        string? direct = null;
        _relay = await LoopbackRelay.StartAsync(o =>
        {
            if (proxied is not null)
            {
                o.Relay.PublicEndpoint = proxied;
                o.Relay.AlternativeEndpoints = [direct!];
            }
        });
        _proxy = FaultProxy.Start(_relay.SocketEndPoint);
        (proxied, direct) = (_proxy.HostAndPort, _relay.Endpoint);
        await _relay.RestartAsync(); // on the same port, now naming both
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _relay.DisposeAsync();
        _owner.Dispose();
    }

    [Fact]
    public async Task A_sender_whose_first_endpoint_refuses_connects_to_the_next_and_the_message_is_stored()
    {
        var card = await CreateAddressAsync();
        Assert.Equal([_proxy.HostAndPort, _relay.Endpoint], card.Endpoints);
        _proxy.Refuse();

        await using (var sender = await RelayClient.ConnectAnyAsync(card.Endpoints, RelayClientOptions.ForCard(card)))
        {
            await sender.SendAsync(card, "via the second"u8.ToArray());
        }

        Assert.Equal(["via the second"], await PullAsync(card));

        // With only the refusing endpoint, the refusal is what the caller gets.
        await Assert.ThrowsAsync<SocketException>(() => RelayClient.ConnectAnyAsync([_proxy.HostAndPort]));
    }

    [Fact]
    public async Task An_owner_subscribed_through_a_card_gets_its_messages_while_the_first_node_is_down()
    {
        var card = await CreateAddressAsync();
        _proxy.Refuse();
        await using var subscriber = RelaySubscriber.ForCard(card, new RelaySubscriberOptions { Client = { TimeProvider = _clock, KeepAliveInterval = null } });
        await subscriber.AddAsync(card.Aid, _owner);
        subscriber.Start();
        await RelaySubscriberTests.NextEventAsync<SubscriberConnected>(subscriber);

        await SendDirectlyAsync(card, "pushed");
        var delivered = await subscriber.Deliveries.ReadAsync().AsTask().Within();
        Assert.Equal("pushed", Encoding.UTF8.GetString(delivered.Message.Ciphertext.Span));
    }

    [Fact]
    public async Task A_subscriber_given_one_endpoint_learns_the_others_from_hello_and_reconnects_to_them()
    {
        var card = await CreateAddressAsync();
        await using var subscriber = new RelaySubscriber(_proxy.HostAndPort, new RelaySubscriberOptions { Client = { TimeProvider = _clock, KeepAliveInterval = null } });
        Assert.Equal([_proxy.HostAndPort], subscriber.Endpoints);
        await subscriber.AddAsync(card.Aid, _owner);
        subscriber.Start();
        await RelaySubscriberTests.NextEventAsync<SubscriberConnected>(subscriber);
        Assert.Equal([_proxy.HostAndPort, _relay.Endpoint], subscriber.Endpoints);

        // The first node goes down, its connections with it: the next attempt finds the other.
        _proxy.Refuse();
        _proxy.ResetAll();
        var reconnecting = await RelaySubscriberTests.NextEventAsync<SubscriberReconnecting>(subscriber);
        _clock.Advance(reconnecting.Delay);
        await RelaySubscriberTests.NextEventAsync<SubscriberConnected>(subscriber);

        await SendDirectlyAsync(card, "after the failover");
        var delivered = await subscriber.Deliveries.ReadAsync().AsTask().Within();
        Assert.Equal("after the failover", Encoding.UTF8.GetString(delivered.Message.Ciphertext.Span));
    }

    [Fact]
    public void Only_an_unreachable_relay_is_a_reason_to_try_the_next_endpoint()
    {
        Assert.True(RelayClient.IsUnreachable(new SocketException((int)SocketError.ConnectionRefused)));
        Assert.True(RelayClient.IsUnreachable(new SocketException((int)SocketError.HostNotFound)));
        Assert.True(RelayClient.IsUnreachable(new IOException("reset")));
        Assert.True(RelayClient.IsUnreachable(new OperationCanceledException())); // the connect timeout
        Assert.True(RelayClient.IsUnreachable(new RelayException("The relay closed the connection.")));
        Assert.True(RelayClient.IsUnreachable(new RelayException(ErrorCode.ShuttingDown, "stopping")));

        Assert.False(RelayClient.IsUnreachable(new RelayException("TLS with the relay failed") { CertificateRejected = true }));
        Assert.False(RelayClient.IsUnreachable(new RelayException(ErrorCode.AddressUnknown, "no such address")));
        Assert.False(RelayClient.IsUnreachable(new RelayException(ErrorCode.UnsupportedVersion, "version 1 only")));
        Assert.False(RelayClient.IsUnreachable(new ArgumentException("not host:port")));
    }

    private async Task<AddressCard> CreateAddressAsync()
    {
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        return (await client.CreateAddressAsync(_owner.PublicKey)).Card;
    }

    private async Task SendDirectlyAsync(AddressCard card, string text)
    {
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        await client.SendAsync(card, Encoding.UTF8.GetBytes(text));
    }

    private async Task<string[]> PullAsync(AddressCard card)
    {
        await using var client = await RelayClient.ConnectAsync(_relay.SocketEndPoint);
        await client.AuthenticateAsync(card.Aid, _owner);
        return [.. (await client.PullAsync(card.Aid)).Messages.Select(m => Encoding.UTF8.GetString(m.Ciphertext.Span))];
    }
}
