using System.Buffers;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Sessions;
using NSec.Cryptography;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// Whole sessions over in-memory pipes, with the storage's durability and the clock in the test's hands
/// (<see cref="SessionHarness"/>): what a reply promises was durable when it left, replies keep request order,
/// pushes carry only durable messages and keep to their latency policy.
/// </summary>
public sealed class SessionTests : IAsyncLifetime
{
    private readonly Key _owner = Key.Create(SignatureAlgorithm.Ed25519);
    private SessionHarness _relay = null!;

    public async Task InitializeAsync() => _relay = await SessionHarness.StartAsync();

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        _owner.Dispose();
    }

    [Fact]
    public async Task Pipelined_replies_keep_request_order_and_each_OK_left_once_its_SEND_was_durable()
    {
        await using var sender = await _relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(sender, _owner);
        var ephemeral = _relay.Ephemeral(card);
        _relay.Storage.HoldFlushes();
        var held = _relay.Storage.WhenAnyObservedUndurable();

        await sender.SendAsync(w =>
        {
            FrameWriter.WriteSend(w, 10, ephemeral, "first"u8);
            FrameWriter.WriteEmpty(w, FrameType.Ping, 11);
            FrameWriter.WriteSend(w, 12, ephemeral, "second"u8);
        });

        var first = sender.ReadFrameAsync();
        Assert.Same(held, await Task.WhenAny(held, first).Within());
        _relay.Storage.ReleaseFlushes();

        var replies = new[] { await first, await sender.ReadFrameAsync(), await sender.ReadFrameAsync() };
        Assert.Equal(new[] { (FrameType.Ok, 10u), (FrameType.Pong, 11u), (FrameType.Ok, 12u) }, replies.Select(r => (r.Header.Type, r.Header.RequestId)));
        var stored = Pending(card.Aid);
        Assert.Equal(2, stored.Length);
        Assert.True(replies[0].DurableWhenFlushed >= stored[0].Id.Value, "the first OK left before its message was durable");
        Assert.True(replies[2].DurableWhenFlushed >= stored[1].Id.Value, "the second OK left before its message was durable");
    }

    [Fact]
    public async Task An_ACK_is_confirmed_only_once_its_record_is_durable()
    {
        await using var owner = await _relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(owner, _owner);
        await SessionHarness.AuthenticateAsync(owner, _owner, card.Aid);
        await owner.SendAsync(w => FrameWriter.WriteSend(w, 20, _relay.Ephemeral(card), "to ack"u8));
        Assert.Equal(FrameType.Ok, (await owner.ReadFrameAsync()).Header.Type);
        var id = Assert.Single(Pending(card.Aid)).Id;
        _relay.Storage.HoldFlushes();
        var held = _relay.Storage.WhenAnyObservedUndurable();

        await owner.SendAsync(w => FrameWriter.WriteAck(w, 21, card.Aid, [id.Value]));

        var reply = owner.ReadFrameAsync();
        Assert.Same(held, await Task.WhenAny(held, reply).Within());
        var ackRecord = _relay.Storage.DurablePosition + 1; // the only write not durable yet
        _relay.Storage.ReleaseFlushes();
        var ok = await reply;
        Assert.Equal((FrameType.Ok, 21u), (ok.Header.Type, ok.Header.RequestId));
        Assert.True(ok.DurableWhenFlushed >= ackRecord, "the ACK's OK left before its record was durable");
        Assert.Empty(Pending(card.Aid));
    }

    [Fact]
    public async Task A_DELIVER_carries_only_messages_that_were_durable_when_it_left()
    {
        await using var owner = await _relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(owner, _owner);
        await SessionHarness.AuthenticateAsync(owner, _owner, card.Aid);
        await owner.SendAsync(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 30, card.Aid, 16));
        Assert.Equal(FrameType.Ok, (await owner.ReadFrameAsync()).Header.Type);
        await using var sender = await _relay.ConnectAsync();
        _relay.Storage.HoldFlushes();
        var held = _relay.Storage.WhenAnyObservedUndurable();

        await sender.SendAsync(w => FrameWriter.WriteSend(w, 31, _relay.Ephemeral(card), "pushed"u8));

        var push = owner.ReadFrameAsync();
        Assert.Same(held, await Task.WhenAny(held, push).Within());
        _relay.Storage.ReleaseFlushes();
        var deliver = await push;
        Assert.Equal(FrameType.Deliver, deliver.Header.Type);
        Assert.True(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(deliver.Body), out _, out var delivered));
        var message = Assert.Single(delivered);
        Assert.Equal("pushed"u8.ToArray(), message.Ciphertext.ToArray());
        Assert.True(deliver.DurableWhenFlushed >= message.Id, "a message was pushed before it was durable");
        Assert.Equal(FrameType.Ok, (await sender.ReadFrameAsync()).Header.Type);
    }

    [Fact]
    public async Task A_batched_address_is_pushed_no_sooner_than_its_window_on_the_relay_clock()
    {
        var window = TimeSpan.FromMilliseconds(200);
        await using var owner = await _relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(owner, _owner);
        await SessionHarness.AuthenticateAsync(owner, _owner, card.Aid);
        await owner.SendAsync(w => FrameWriter.WriteSetPolicy(w, 40, card.Aid, DeliveryPolicy.Batched(window)));
        Assert.Equal(FrameType.Ok, (await owner.ReadFrameAsync()).Header.Type);
        await owner.SendAsync(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 41, card.Aid, 100));
        Assert.Equal(FrameType.Ok, (await owner.ReadFrameAsync()).Header.Type);
        await using var sender = await _relay.ConnectAsync();
        var parked = _relay.Time.WhenTimerCreated(window);

        var ephemeral = _relay.Ephemeral(card);
        await sender.SendAsync(w =>
        {
            for (uint i = 0; i < 5; i++)
            {
                FrameWriter.WriteSend(w, 50 + i, ephemeral, BitConverter.GetBytes(i));
            }
        });
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(FrameType.Ok, (await sender.ReadFrameAsync()).Header.Type);
        }

        // The pump is parked on the relay's clock for the window; before it passes, nothing is pushed.
        Assert.Equal(window, await parked.Within());
        _relay.Time.Advance(window - TimeSpan.FromMilliseconds(1));
        Assert.False(owner.TryReadFrame(out _), "pushed inside the batching window");
        _relay.Time.Advance(TimeSpan.FromMilliseconds(1));

        var deliver = await owner.ReadFrameAsync();
        Assert.Equal(FrameType.Deliver, deliver.Header.Type);
        Assert.True(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(deliver.Body), out _, out var delivered));
        Assert.Equal(5, delivered.Length); // the burst coalesced into one push
    }

    [Fact]
    public async Task A_session_whose_client_goes_away_ends_and_releases_its_subscriptions()
    {
        var owner = await _relay.ConnectAsync();
        var card = await SessionHarness.CreateAddressAsync(owner, _owner);
        await SessionHarness.AuthenticateAsync(owner, _owner, card.Aid);
        await owner.SendAsync(w => FrameWriter.WriteCredit(w, FrameType.Subscribe, 60, card.Aid, 4));
        Assert.Equal(FrameType.Ok, (await owner.ReadFrameAsync()).Header.Type);
        Assert.Equal(1, _relay.Server.Push.Subscribers);

        await owner.CompleteSendingAsync();

        await owner.Ended.Within();
        Assert.Equal(0, _relay.Server.Push.Subscribers);
        Assert.Equal(0, _relay.Server.ConnectionCount);
    }

    private PendingMessage[] Pending(AddressId aid)
    {
        var buffer = new PendingMessage[64];
        return buffer[.._relay.Storage.GetPending(aid, MessageId.None, buffer)];
    }
}
