using System.Buffers;
using System.Diagnostics;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// How replies and pushes move through a bounded outbox: a full outbox slows its producers down instead of
/// dropping or duplicating what they queue, a session that ends frees whoever waits for room, a reply that
/// closes the connection is the last one written, and a client that stops reading ends the writer.
/// </summary>
public sealed class OutboxFlowTests : IAsyncDisposable
{
    private readonly OutboxRig _rig = new();

    public async ValueTask DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Replies_queued_ahead_of_an_OK_waiting_for_its_write_reach_the_client_without_waiting_for_it()
    {
        var ticket = await _rig.HeldAppendAsync();
        var outbox = _rig.NewOutbox();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.SendOk(2, ticket, Stopwatch.GetTimestamp())));
        var drain = outbox.DrainAsync(_rig.Output, CancellationToken.None);

        // Flushes stay held until the PONG is read: it must have been flushed on its own, ahead of the OK.
        var pong = await _rig.Frames.ReadFrameAsync();
        Assert.Equal((FrameType.Pong, 1u), (pong.Header.Type, pong.Header.RequestId));
        Assert.True(pong.DurableWhenFlushed < ticket.Position, "the PONG was held back until the OK's write was durable");

        _rig.Storage.ReleaseFlushes();
        var ok = await _rig.Frames.ReadFrameAsync();
        Assert.Equal((FrameType.Ok, 2u), (ok.Header.Type, ok.Header.RequestId));
        Assert.True(ok.DurableWhenFlushed >= ticket.Position);
        outbox.Complete();
        Assert.False(await drain.Within());
    }

    [Fact]
    public async Task A_reply_waiting_for_room_is_given_up_when_the_session_ends_instead_of_waiting_for_ever()
    {
        var outbox = _rig.NewOutbox(capacity: 1);
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        var waiting = outbox.EnqueueAsync(OutboxItem.Pong(2), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted); // back-pressure: the reader waits for room

        outbox.Complete(); // the session ends (its writer stopped, or the client left)

        await waiting.Within();
        Assert.False(await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within());
        Assert.Equal(new[] { (FrameType.Pong, 1u) }, await _rig.ReadAsync(1));
        await _rig.EndWireAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(_rig.Frames.ReadFrameAsync); // the reply queued after the end is not written
    }

    [Fact]
    public async Task A_push_into_a_full_outbox_waits_for_room_then_leaves_once_in_turn_and_exactly_as_built()
    {
        var aid = AddressId.NewRandom();
        var outbox = _rig.NewOutbox(capacity: 2);
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(2)));
        var (frame, length) = OutboxRig.RentedDeliver(aid, 42, "pushed"u8.ToArray());
        var push = outbox.PushAsync(OutboxItem.RentedFrame(frame, length)).AsTask();
        Assert.False(push.IsCompleted); // neither dropped nor queued past the bound

        var drain = outbox.DrainAsync(_rig.Output, CancellationToken.None);

        Assert.True(await push.Within(), "a push that found room reported the session ending");
        Assert.Equal(new[] { (FrameType.Pong, 1u), (FrameType.Pong, 2u) }, await _rig.ReadAsync(2));
        var deliver = await _rig.Frames.ReadFrameAsync();
        Assert.Equal(FrameType.Deliver, deliver.Header.Type);
        Assert.True(BodyReader.TryReadDeliver(new ReadOnlySequence<byte>(deliver.Body), out var to, out var messages));
        Assert.Equal(aid, to);
        var message = Assert.Single(messages);
        Assert.Equal(42L, message.Id);
        Assert.Equal("pushed"u8.ToArray(), message.Ciphertext.ToArray());

        outbox.Complete();
        await drain.Within();
        Assert.Equal((2 * ProtocolConstants.HeaderLength) + length, _rig.Output.FlushedBytes); // the frame once, and none of the rented array's tail
    }

    [Fact]
    public async Task A_push_with_room_is_queued_once_behind_the_replies_before_it()
    {
        var outbox = _rig.NewOutbox();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        var (frame, length) = OutboxRig.RentedDeliver(AddressId.NewRandom(), 7, [1, 2, 3]);
        Assert.True(await outbox.PushAsync(OutboxItem.RentedFrame(frame, length)).AsTask().Within());
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(2)));
        outbox.Complete();

        await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within();

        Assert.Equal(new[] { (FrameType.Pong, 1u), (FrameType.Deliver, 0u), (FrameType.Pong, 2u) }, await _rig.ReadAsync(3));
        await _rig.EndWireAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(_rig.Frames.ReadFrameAsync);
    }

    [Fact]
    public async Task A_push_is_refused_once_the_session_ends_so_its_frame_stays_with_the_pump()
    {
        // The pump gives a refused frame back to the pool and stops; a push reported as queued must be written.
        var outbox = _rig.NewOutbox(capacity: 1);
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        var (waitingFrame, waitingLength) = OutboxRig.RentedDeliver(AddressId.NewRandom(), 1, [1]);
        var waiting = outbox.PushAsync(OutboxItem.RentedFrame(waitingFrame, waitingLength)).AsTask();
        Assert.False(waiting.IsCompleted);

        outbox.Complete();

        Assert.False(await waiting.Within(), "a push waiting for room was reported queued after the session ended");
        var (lateFrame, lateLength) = OutboxRig.RentedDeliver(AddressId.NewRandom(), 2, [2]);
        Assert.False(await outbox.PushAsync(OutboxItem.RentedFrame(lateFrame, lateLength)).AsTask().Within(), "a push after the end was reported queued");
        ArrayPool<byte>.Shared.Return(waitingFrame);
        ArrayPool<byte>.Shared.Return(lateFrame);

        await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within();
        Assert.Equal(ProtocolConstants.HeaderLength, _rig.Output.FlushedBytes); // the PONG alone
    }

    [Fact]
    public async Task A_reply_that_closes_the_connection_is_flushed_and_is_the_last_one_written()
    {
        var outbox = _rig.NewOutbox();
        Assert.True(ErrorCodes.ClosesConnection(ErrorCode.FrameTooLarge));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Failure(2, ErrorCode.FrameTooLarge, "too large")));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(3))); // queued by a pump after the reader stopped

        // The writer ends by itself, without the outbox being completed, and says it wrote a closing reply.
        Assert.True(await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within());

        Assert.Equal(new[] { (FrameType.Pong, 1u) }, await _rig.ReadAsync(1));
        var error = await _rig.Frames.ReadFrameAsync(); // flushed before the writer returned, not left to the pipe's end
        Assert.Equal((FrameType.Error, 2u), (error.Header.Type, error.Header.RequestId));
        Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(error.Body), out var reply));
        Assert.Equal(new ErrorReply(ErrorCode.FrameTooLarge, "too large"), reply);
        await _rig.EndWireAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(_rig.Frames.ReadFrameAsync);
    }

    [Fact]
    public async Task A_writer_whose_client_stopped_reading_ends_without_the_outbox_being_completed()
    {
        var outbox = _rig.NewOutbox();
        await _rig.ClientGoneAsync();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));

        // The session ends its reader when its writer ends; a writer that kept waiting would keep both alive.
        Assert.False(await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within());
    }

    [Fact]
    public async Task A_writer_whose_client_stopped_reading_does_not_wait_for_the_disk_before_ending()
    {
        var ticket = await _rig.HeldAppendAsync();
        var outbox = _rig.NewOutbox();
        await _rig.ClientGoneAsync();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.SendOk(2, ticket, Stopwatch.GetTimestamp())));

        // The flush of the PONG, ahead of the OK's wait, finds nobody reading: the writer ends there, with
        // the write still held (it never becomes durable in this test).
        Assert.False(await outbox.DrainAsync(_rig.Output, CancellationToken.None).Within());
        Assert.False(_rig.Storage.IsDurable(ticket));
    }
}
