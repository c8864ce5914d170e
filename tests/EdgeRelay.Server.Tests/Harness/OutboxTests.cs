using System.Diagnostics;
using System.IO.Pipelines;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Metrics;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Sessions;
using EdgeRelay.Testing.Storage;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// The outbox on its own, over the in-memory storage with its durability held: a reply that promises a write
/// never leaves before the write is durable, and everything queued behind it waits too.
/// </summary>
/// <remarks>
/// How absence is proven without sleeping: a correct writer asks the storage whether the reply's ticket is
/// durable before it writes the reply, and the storage reports that question
/// (<see cref="InMemoryStorage.WhenObservedUndurable"/>). Each test waits for whichever comes first, that
/// question or a frame on the wire: a writer that skips the check (the mutation of sending the OK without
/// waiting) puts the frame on the wire and never asks, so the test fails at once and every time.
/// </remarks>
public sealed class OutboxTests : IAsyncDisposable
{
    private readonly InMemoryStorage _storage = InMemoryStorage.Open();
    private readonly Pipe _wire = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly StampingPipeWriter _output;
    private readonly StampedFrameReader _frames;
    private readonly Outbox _outbox;
    private AddressId _aid;

    public OutboxTests()
    {
        _output = new StampingPipeWriter(_wire.Writer, () => _storage.DurablePosition);
        _frames = new StampedFrameReader(_wire.Reader, _output);
        _outbox = new Outbox(16, _storage, new RelayMetrics());
    }

    public async ValueTask DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task The_OK_of_a_SEND_leaves_only_once_its_write_is_durable_and_the_replies_behind_it_wait_too()
    {
        var ticket = await HeldAppendAsync();
        Assert.True(_outbox.TryEnqueue(OutboxItem.SendOk(1, ticket, Stopwatch.GetTimestamp())));
        Assert.True(_outbox.TryEnqueue(OutboxItem.Pong(2)));
        var held = _storage.WhenObservedUndurable(ticket);
        var drain = _outbox.DrainAsync(_output, CancellationToken.None);

        var first = _frames.ReadFrameAsync();
        Assert.Same(held, await Task.WhenAny(held, first).Within());
        Assert.Equal(0, _output.FlushedBytes); // nothing has reached the wire while the OK waits for its write

        _storage.ReleaseFlushes();

        var ok = await first;
        Assert.Equal((FrameType.Ok, 1u), (ok.Header.Type, ok.Header.RequestId));
        Assert.True(ok.DurableWhenFlushed >= ticket.Position, $"the OK left at durable position {ok.DurableWhenFlushed}, before its write ({ticket.Position})");
        var pong = await _frames.ReadFrameAsync();
        Assert.Equal((FrameType.Pong, 2u), (pong.Header.Type, pong.Header.RequestId));
        _outbox.Complete();
        await drain.Within();
    }

    [Fact]
    public async Task An_OK_for_an_acknowledgement_or_an_address_change_waits_for_its_write_the_same_way()
    {
        var ticket = await HeldAppendAsync();
        Assert.True(_outbox.TryEnqueue(OutboxItem.Ok(7, ticket)));
        var held = _storage.WhenObservedUndurable(ticket);
        var drain = _outbox.DrainAsync(_output, CancellationToken.None);

        var first = _frames.ReadFrameAsync();
        Assert.Same(held, await Task.WhenAny(held, first).Within());
        _storage.ReleaseFlushes();

        var ok = await first;
        Assert.Equal(7u, ok.Header.RequestId);
        Assert.True(ok.DurableWhenFlushed >= ticket.Position);
        _outbox.Complete();
        await drain.Within();
    }

    [Fact]
    public async Task Replies_that_promise_nothing_leave_at_once_in_order()
    {
        Assert.True(_outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(_outbox.TryEnqueue(OutboxItem.Ok(2)));
        Assert.True(_outbox.TryEnqueue(OutboxItem.Failure(3, ErrorCode.InvalidArgument, "no")));
        var drain = _outbox.DrainAsync(_output, CancellationToken.None);

        Assert.Equal(new[] { (FrameType.Pong, 1u), (FrameType.Ok, 2u), (FrameType.Error, 3u) }, await ReadAsync(3));
        _outbox.Complete();
        await drain.Within();
    }

    [Fact]
    public async Task Replies_keep_request_order_across_tickets_made_durable_by_one_flush()
    {
        var first = await HeldAppendAsync();
        var second = Append();
        Assert.True(_outbox.TryEnqueue(OutboxItem.SendOk(1, first, Stopwatch.GetTimestamp())));
        Assert.True(_outbox.TryEnqueue(OutboxItem.Pong(2)));
        Assert.True(_outbox.TryEnqueue(OutboxItem.SendOk(3, second, Stopwatch.GetTimestamp())));
        var held = _storage.WhenObservedUndurable(first);
        var drain = _outbox.DrainAsync(_output, CancellationToken.None);
        await held.Within();

        _storage.ReleaseFlushes();

        Assert.Equal(new[] { (FrameType.Ok, 1u), (FrameType.Pong, 2u), (FrameType.Ok, 3u) }, await ReadAsync(3));
        _outbox.Complete();
        await drain.Within();
    }

    [Fact]
    public async Task A_failed_flush_ends_the_writer_and_its_OK_is_never_written()
    {
        var ticket = await HeldAppendAsync();
        Assert.True(_outbox.TryEnqueue(OutboxItem.SendOk(1, ticket, Stopwatch.GetTimestamp())));
        var held = _storage.WhenObservedUndurable(ticket);
        var drain = _outbox.DrainAsync(_output, CancellationToken.None);
        await held.Within();

        // The writer may be waiting for the ticket or for a flush round: both fail.
        await Eventually.TrueAsync(() => _storage.WaitingFlushes > 0 || drain.IsCompleted, "the writer to wait for the flush");
        _storage.FailFlushes(new IOException("the device failed"));

        await Assert.ThrowsAsync<IOException>(() => drain.Within());
        Assert.Equal(0, _output.FlushedBytes); // no OK for a write that never became durable
    }

    [Fact]
    public async Task A_full_outbox_refuses_more_until_the_writer_drains_it()
    {
        var outbox = new Outbox(2, _storage, new RelayMetrics());
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(2)));
        Assert.False(outbox.TryEnqueue(OutboxItem.Pong(3)));
        var waiting = outbox.EnqueueAsync(OutboxItem.Pong(3), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        var drain = outbox.DrainAsync(_output, CancellationToken.None);

        await waiting.Within();
        Assert.Equal(new[] { (FrameType.Pong, 1u), (FrameType.Pong, 2u), (FrameType.Pong, 3u) }, await ReadAsync(3));
        outbox.Complete();
        await drain.Within();
    }

    private async Task<DurabilityTicket> HeldAppendAsync()
    {
        _aid = AddressId.NewRandom();
        await _storage.WaitDurableAsync(await _storage.CreateAddressAsync(_aid, new byte[32], DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds()));
        _storage.HoldFlushes();
        return Append();
    }

    private DurabilityTicket Append()
    {
        Assert.Equal(AppendStatus.Appended, _storage.TryAppend(_aid, [1, 2, 3], out _, out var ticket));
        return ticket;
    }

    private async Task<(FrameType, uint)[]> ReadAsync(int count)
    {
        var frames = new (FrameType, uint)[count];
        for (var i = 0; i < count; i++)
        {
            var frame = await _frames.ReadFrameAsync();
            frames[i] = (frame.Header.Type, frame.Header.RequestId);
        }

        return frames;
    }
}
