using System.Buffers;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>The sending-service methods against a scripted relay: what goes on the wire, and SEND_STATE pushes routed by type.</summary>
public class SendingTests
{
    [Fact]
    public async Task SendViaAsync_writes_the_body_and_returns_the_queued_state()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var pin = Enumerable.Repeat((byte)5, 32).ToArray();
        var ephemeral = new byte[73];
        ephemeral[0] = 1;

        var sending = client.SendViaAsync("[2001:db8::1]:7400", pin, ephemeral, new byte[] { 9, 8 });
        var request = await server.ReadFrameAsync();
        Assert.Equal(FrameType.SendVia, request.Header.Type);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendVia(new ReadOnlySequence<byte>(request.Body), out var parsed));
        Assert.Equal("[2001:db8::1]:7400", parsed.Endpoint);
        Assert.Equal(pin, parsed.Pin);
        Assert.Equal(ephemeral, parsed.EphemeralAddress);
        Assert.Equal(new byte[] { 9, 8 }, parsed.Ciphertext);
        await server.SendAsync(w => FrameWriter.WriteSendState(w, FrameType.SendQueued, request.Header.RequestId, new SendStateEntry(42, SendStateEntry.Queued, 0)));

        Assert.Equal(new SendState(42, SendStateKind.Queued, ErrorCode.None), await sending.Within());
    }

    [Fact]
    public async Task A_batched_send_goes_as_SEND_VIA_MODE_and_an_immediate_one_as_plain_SEND_VIA()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ephemeral = new byte[73];
        ephemeral[0] = 1;

        var batched = client.SendViaAsync("relay-b.test:7400", ReadOnlyMemory<byte>.Empty, ephemeral, new byte[] { 3 }, SendingMode.Batched);
        var request = await server.ReadFrameAsync();
        Assert.Equal(FrameType.SendViaMode, request.Header.Type);
        Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendViaMode(new ReadOnlySequence<byte>(request.Body), out var mode, out var parsed));
        Assert.Equal((SendingMode.Batched, "relay-b.test:7400"), (mode, parsed.Endpoint));
        Assert.Equal(new byte[] { 3 }, parsed.Ciphertext);
        await server.SendAsync(w => FrameWriter.WriteSendState(w, FrameType.SendQueued, request.Header.RequestId, new SendStateEntry(43, SendStateEntry.Queued, 0)));
        Assert.Equal(new SendState(43, SendStateKind.Queued, ErrorCode.None), await batched.Within());

        // Mode 1 is SEND_VIA itself: it reaches a relay that predates SEND_VIA_MODE too.
        var immediate = client.SendViaAsync("relay-b.test:7400", ReadOnlyMemory<byte>.Empty, ephemeral, new byte[] { 4 }, SendingMode.Immediate);
        request = await server.ReadFrameAsync();
        Assert.Equal(FrameType.SendVia, request.Header.Type);
        await server.SendAsync(w => FrameWriter.WriteSendState(w, FrameType.SendQueued, request.Header.RequestId, new SendStateEntry(44, SendStateEntry.Queued, 0)));
        Assert.Equal(44, (await immediate.Within()).SendId);

        // A mode the relay does not offer: its refusal, with its code (ErrorReplyTests: the connection stays open).
        var unavailable = client.SendViaAsync("relay-b.test:7400", ReadOnlyMemory<byte>.Empty, ephemeral, new byte[] { 5 }, SendingMode.Batched);
        request = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteError(w, request.Header.RequestId, ErrorCode.ModeUnavailable, "not offered"));
        Assert.Equal(ErrorCode.ModeUnavailable, (await Assert.ThrowsAsync<RelayException>(() => unavailable.Within())).Code);
    }

    [Fact]
    public async Task A_SEND_STATE_that_overtakes_the_reply_to_its_SEND_VIA_reaches_the_watcher()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var watching = client.WatchSendsAsync();
        var watch = await server.ReadFrameAsync();
        Assert.Equal(FrameType.WatchSends, watch.Header.Type);
        await server.SendAsync(w => FrameWriter.WriteOk(w, watch.Header.RequestId));
        var states = await watching.Within();

        var sending = client.SendViaAsync("relay-b.test:7400", ReadOnlyMemory<byte>.Empty, new byte[73], new byte[] { 1 });
        var request = await server.ReadFrameAsync();
        await server.SendAsync(w => FrameWriter.WriteSendState(w, FrameType.SendState, 0, new SendStateEntry(7, SendStateEntry.Failed, (ushort)ErrorCode.Undeliverable)));
        await server.SendAsync(w => FrameWriter.WriteSendState(w, FrameType.SendQueued, request.Header.RequestId, new SendStateEntry(7, SendStateEntry.Queued, 0)));

        Assert.Equal(SendStateKind.Queued, (await sending.Within()).State);
        Assert.Equal(new SendState(7, SendStateKind.Failed, ErrorCode.Undeliverable), await states.ReadAsync().AsTask().Within());
    }

    [Fact]
    public async Task GetSendStatesAsync_splits_long_lists_and_keeps_their_order()
    {
        await using var relay = new FakeRelay();
        var (client, server) = await relay.ConnectAsync();
        var ids = Enumerable.Range(1, 300).Select(i => (long)i).ToArray();

        var asking = client.GetSendStatesAsync(ids);
        for (var round = 0; round < 2; round++)
        {
            var request = await server.ReadFrameAsync();
            Assert.Equal(BodyStatus.Ok, BodyReader.ReadSendStatus(new ReadOnlySequence<byte>(request.Body), out var asked));
            Assert.Equal(round == 0 ? 256 : 44, asked.Length);
            var entries = asked.Select(id => new SendStateEntry(id, SendStateEntry.Delivered, 0)).ToArray();
            await server.SendAsync(w => FrameWriter.WriteSendStates(w, request.Header.RequestId, entries));
        }

        Assert.Equal(ids, (await asking.Within()).Select(s => s.SendId));
    }
}
