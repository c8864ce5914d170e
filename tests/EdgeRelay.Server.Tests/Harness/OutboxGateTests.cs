using System.Buffers;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// A reply that waits on another store's commit (SEND_VIA's SEND_QUEUED waits on the outbound log): the
/// writer holds it, and everything queued after it, until the wait completes, so replies keep request
/// order while the session's reader goes on reading.
/// </summary>
public sealed class OutboxGateTests : IAsyncDisposable
{
    private readonly OutboxRig _rig = new();

    public async ValueTask DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_gated_reply_and_those_behind_it_wait_for_the_gate_and_leave_in_order()
    {
        var outbox = _rig.NewOutbox();
        var commit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.GatedFrame(Pong(2), commit.Task)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(3)));
        var drain = outbox.DrainAsync(_rig.Output, CancellationToken.None);

        var first = await _rig.Frames.ReadFrameAsync(); // flushed on its own, ahead of the wait
        Assert.Equal(1u, first.Header.RequestId);
        Assert.False(_rig.Frames.TryReadFrame(out _)); // neither the gated reply nor the one behind it: the gate holds both

        commit.SetResult();
        Assert.Equal([(FrameType.Pong, 2u), (FrameType.Pong, 3u)], await _rig.ReadAsync(2));
        outbox.Complete();
        Assert.False(await drain.Within());
    }

    [Fact]
    public async Task A_gate_that_faults_ends_the_writer_with_its_error_and_writes_nothing_more()
    {
        var outbox = _rig.NewOutbox();
        Assert.True(outbox.TryEnqueue(OutboxItem.GatedFrame(Pong(1), Task.FromException(new ObjectDisposedException("outbound queue")))));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(2)));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => outbox.DrainAsync(_rig.Output, CancellationToken.None).Within());
        await _rig.EndWireAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(_rig.Frames.ReadFrameAsync);
    }

    private static byte[] Pong(uint requestId)
    {
        var frame = new ArrayBufferWriter<byte>();
        FrameWriter.WriteEmpty(frame, FrameType.Pong, requestId);
        return frame.WrittenSpan.ToArray();
    }
}
