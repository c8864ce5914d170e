using System.Net;
using System.Net.Sockets;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Access;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>SEND_VIA, SEND_STATUS and WATCH_SENDS between two in-process relays on loopback: A sends, B receives.</summary>
public sealed class ForwardingTests
{
    [Fact]
    public async Task A_message_sent_through_A_is_pulled_from_B_and_its_sender_is_told()
    {
        await using var b = await TestRelay.StartAsync();
        await using var a = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var onB = await b.ConnectAsync();
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await using var rm = await ConnectRmAsync(a);
        var pushes = await rm.WatchSendsAsync();

        var queued = await rm.SendViaAsync(card, "hello via A"u8.ToArray());

        Assert.Equal(SendStateKind.Queued, queued.State);
        Assert.True(queued.SendId > 0);
        Assert.Equal(new SendState(queued.SendId, SendStateKind.Delivered, ErrorCode.None), await pushes.ReadAsync(Eventually.Deadline()));
        Assert.Equal([new SendState(queued.SendId, SendStateKind.Delivered, ErrorCode.None)], await rm.GetSendStatesAsync([queued.SendId]));
        await onB.AuthenticateAsync(card.Aid, owner.Key);
        var pulled = Assert.Single((await onB.PullAsync(card.Aid)).Messages);
        Assert.Equal("hello via A"u8.ToArray(), pulled.Ciphertext.ToArray());
    }

    [Fact]
    public async Task Without_an_rm_token_every_forwarding_command_is_refused()
    {
        await using var a = await TestRelay.StartAsync();
        await using var none = await a.ConnectAsync();
        await using var peer = await a.ConnectAsync();
        await peer.AuthenticateTokenAsync(a.Host.Server.Tokens.Create("relay-c", TokenRole.Peer).Secret);
        var revoked = a.Host.Server.Tokens.Create("gone", TokenRole.Rm);
        await using var late = await a.ConnectAsync();
        await late.AuthenticateTokenAsync(revoked.Secret);
        Assert.True(a.Host.Server.Tokens.Revoke(revoked.Token.Id));

        foreach (var (client, code) in new[] { (none, ErrorCode.NotAuthorised), (peer, ErrorCode.NotAuthorised), (late, ErrorCode.TokenRevoked) })
        {
            Assert.Equal(code, (await Assert.ThrowsAsync<RelayException>(() => client.SendViaAsync("127.0.0.1:9", ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 1 }))).Code);
            Assert.Equal(code, (await Assert.ThrowsAsync<RelayException>(() => client.SendViaAsync("127.0.0.1:9", ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 1 }, SendingMode.Batched))).Code);
            Assert.Equal(code, (await Assert.ThrowsAsync<RelayException>(() => client.GetSendStatesAsync([1]))).Code);
            Assert.Equal(code, (await Assert.ThrowsAsync<RelayException>(() => client.WatchSendsAsync())).Code);
            await client.PingAsync(); // the connection stays usable
        }

        Assert.Equal(0, a.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages); // nothing was queued
    }

    [Fact]
    public async Task A_refusal_by_B_fails_the_send_with_Bs_code()
    {
        await using var b = await TestRelay.StartAsync();
        await using var a = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var onB = await b.ConnectAsync();
        var card = (await owner.CreateAddressAsync(onB)).Card;
        await onB.RevokeAddressAsync(card.Aid, owner.Key);
        await using var rm = await ConnectRmAsync(a);
        var pushes = await rm.WatchSendsAsync();

        var queued = await rm.SendViaAsync(card, new byte[] { 7 });

        Assert.Equal(new SendState(queued.SendId, SendStateKind.Failed, ErrorCode.AddressRevoked), await pushes.ReadAsync(Eventually.Deadline()));
        Assert.Equal(SendStateKind.Failed, (await rm.GetSendStatesAsync([queued.SendId]))[0].State);
    }

    [Fact]
    public async Task A_send_to_this_relays_own_endpoint_is_stored_here_at_once()
    {
        await using var a = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await ConnectRmAsync(a);
        var card = (await owner.CreateAddressAsync(rm)).Card;

        var state = await rm.SendViaAsync(card, new byte[] { 1, 2, 3 });

        Assert.Equal(new SendState(0, SendStateKind.Delivered, ErrorCode.None), state);
        await rm.AuthenticateAsync(card.Aid, owner.Key);
        Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single((await rm.PullAsync(card.Aid)).Messages).Ciphertext.ToArray());
        var unknown = await Assert.ThrowsAsync<RelayException>(() => rm.SendViaAsync(card.Endpoint, ReadOnlyMemory<byte>.Empty, new byte[73], new byte[] { 1 }));
        Assert.Equal(ErrorCode.AddressMalformed, unknown.Code);
    }

    [Fact]
    public async Task A_sends_state_is_visible_only_to_the_token_that_sent_it()
    {
        using var refusing = RefusingPort.Bind();
        var down = refusing.Endpoint;
        await using var a = await TestRelay.StartAsync();
        await using var alice = await ConnectRmAsync(a);
        await using var bob = await ConnectRmAsync(a);

        var queued = await alice.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 1 });

        Assert.Equal(SendStateKind.Queued, (await alice.GetSendStatesAsync([queued.SendId]))[0].State);
        Assert.Equal([new SendState(queued.SendId, SendStateKind.Unknown, ErrorCode.None), new SendState(999_999, SendStateKind.Unknown, ErrorCode.None)], await bob.GetSendStatesAsync([queued.SendId, 999_999]));
    }

    [Fact]
    public async Task A_full_queue_and_a_token_over_its_quota_are_refused_with_their_codes()
    {
        using var refusing = RefusingPort.Bind();
        var down = refusing.Endpoint;
        await using var a = await TestRelay.StartAsync(o => o.Forwarding.MaxQueuedMessages = 2);
        var tokens = a.Host.Server.Tokens;
        await using var small = await a.ConnectAsync();
        await small.AuthenticateTokenAsync(tokens.Create("small", TokenRole.Rm, new TokenLimits { MaxQueuedMessages = 1 }).Secret);
        await using var big = await ConnectRmAsync(a);

        await small.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 1 });
        Assert.Equal(ErrorCode.QuotaToken, (await Assert.ThrowsAsync<RelayException>(() => small.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 2 }))).Code);
        await big.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 3 });
        Assert.Equal(ErrorCode.QueueFull, (await Assert.ThrowsAsync<RelayException>(() => big.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 4 }))).Code);
        Assert.Equal(2, a.Host.Server.Forwarding.Queue.GetStatistics().QueuedMessages);

        // STATUS tells RMs choosing a service: two messages waiting, and the queue at its budget.
        var status = await big.GetStatusAsync();
        Assert.Equal(2UL, status.OutboundMessages);
        Assert.Equal(2UL, status.OutboundBytes);
        Assert.Equal(Availability.Degraded, status.Availability);
        Assert.Contains("outbound queue", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_the_maximum_age_the_sender_is_told_undeliverable()
    {
        var clock = new ObservableClock(DateTimeOffset.UtcNow);
        using var refusing = RefusingPort.Bind();
        var down = refusing.Endpoint;
        await using var a = await TestRelay.StartAsync(
            o =>
            {
                o.Relay.IdleTimeout = TimeSpan.FromDays(1000); // the clock jumps days: connections must not idle out
                o.Forwarding.MaxAge = TimeSpan.FromHours(72);
            },
            clock);
        await using var rm = await ConnectRmAsync(a);
        var pushes = await rm.WatchSendsAsync();
        var parked = clock.WhenTimerCreated(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1)); // the first back-off

        var queued = await rm.SendViaAsync(down, ReadOnlyMemory<byte>.Empty, Ephemeral(), new byte[] { 1 });
        await parked.Within();
        clock.Advance(TimeSpan.FromHours(72));

        Assert.Equal(new SendState(queued.SendId, SendStateKind.Failed, ErrorCode.Undeliverable), await pushes.ReadAsync(Eventually.Deadline()));
        Assert.Equal(ErrorCode.Undeliverable, (await rm.GetSendStatesAsync([queued.SendId]))[0].Code);
    }

    internal static async Task<RelayClient> ConnectRmAsync(TestRelay relay)
    {
        var client = await relay.ConnectAsync();
        await client.AuthenticateTokenAsync(relay.Host.Server.Tokens.Create("rm", TokenRole.Rm).Secret);
        return client;
    }

    internal static byte[] Ephemeral()
    {
        var address = new byte[73];
        address[0] = 1;
        return address;
    }

    /// <summary>A loopback endpoint nothing listens on (a port just freed): connections to it are refused.</summary>
    /// <summary>
    /// A port free a moment ago, for a relay that will listen on it later. A test that needs a destination that
    /// refuses for its whole run takes a <see cref="RefusingPort"/>: a port merely found free can be taken by
    /// another test's listener meanwhile, and then the connection hangs instead of being refused.
    /// </summary>
    internal static string UnusedEndpoint()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket.LocalEndPoint!.ToString()!;
    }
}

/// <summary>A loopback port held bound and never listening: connections to it are refused, and no other listener can take it.</summary>
internal sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket;

    private RefusingPort(Socket socket) => _socket = socket;

    public string Endpoint => _socket.LocalEndPoint!.ToString()!;

    public static RefusingPort Bind()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return new RefusingPort(socket);
    }

    public void Dispose() => _socket.Dispose();
}
