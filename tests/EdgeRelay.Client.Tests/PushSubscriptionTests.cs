using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

public class PushSubscriptionTests
{
    private static readonly AddressId Address = new(1, 2);

    [Fact]
    public async Task A_DELIVER_that_arrives_before_the_SUBSCRIBE_reply_reaches_the_subscription()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();

        var subscribing = client.SubscribeAsync(Address, credit: 10);
        var request = await server.ReadFrameAsync();
        Assert.Equal(FrameType.Subscribe, request.Header.Type);
        await server.DeliverAsync(Address, 5, 6);
        await server.SendAsync(w => FrameWriter.WriteOk(w, request.Header.RequestId));

        var subscription = await subscribing.Within();
        var delivered = await subscription.Deliveries.ReadAsync().AsTask().Within();
        Assert.Equal([5L, 6L], delivered.Select(m => m.Id));
    }

    [Fact]
    public async Task AckAsync_sends_the_ACK_and_a_CREDIT_of_as_many_messages_before_either_is_answered()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var subscribing = client.SubscribeAsync(Address, credit: 10);
        var subscribe = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteOk(w, subscribe.Header.RequestId));
        var subscription = await subscribing.Within();

        var acking = subscription.AckAsync([5L, 6L]);
        var ack = await server.ReadFrameAsync();
        var credit = await server.ReadFrameAsync();

        Assert.Equal(FrameType.Ack, ack.Header.Type);
        Assert.True(BodyReader.TryReadAck(new ReadOnlySequence<byte>(ack.Body), out var acked, out var ids));
        Assert.Equal(Address, acked);
        Assert.Equal([5L, 6L], ids);
        Assert.Equal(FrameType.Credit, credit.Header.Type);
        Assert.True(BodyReader.TryReadCredit(new ReadOnlySequence<byte>(credit.Body), out var granted));
        Assert.Equal(new CreditRequest(Address, 2), granted);

        await server.SendAsync(w => FrameWriter.WriteOk(w, ack.Header.RequestId));
        await server.SendAsync(w => FrameWriter.WriteOk(w, credit.Header.RequestId));
        await acking.Within();
    }

    [Fact]
    public async Task A_lost_connection_ends_the_subscriptions_deliveries_with_a_RelayException()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var subscribing = client.SubscribeAsync(Address, credit: 10);
        var subscribe = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteOk(w, subscribe.Header.RequestId));
        var subscription = await subscribing.Within();

        server.Close();

        await Assert.ThrowsAsync<RelayException>(() => subscription.Deliveries.Completion.Within());
    }
}
