using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Harness;

/// <summary>
/// The outbox writer and the session reader's batches (<see cref="Outbox.OpenReaderBatch"/>): while the reader
/// is handling one read's frames, a reply waiting for its write does not start a commit of its own; the batch's
/// end starts one that covers every write of the batch, and once the batch has ended nothing waits for it.
/// </summary>
/// <remarks>
/// The storage here flushes at once whenever asked (flushes are not held): a writer that asked for a commit
/// mid-batch would make the first OK durable on its own, and the test would see it on the wire stamp.
/// </remarks>
public sealed class OutboxBatchTests : IAsyncDisposable
{
    private readonly OutboxRig _rig = new();

    public async ValueTask DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task One_commit_at_the_batch_end_covers_every_write_of_the_batch_and_later_replies_wait_for_no_batch()
    {
        await _rig.CreateAddressAsync();
        var outbox = _rig.NewOutbox();
        outbox.OpenReaderBatch();
        var first = _rig.Append();
        Assert.True(outbox.TryEnqueue(OutboxItem.Ok(1, first)));
        var seen = _rig.Storage.WhenObservedUndurable(first);
        var drain = outbox.DrainAsync(_rig.Output, CancellationToken.None);
        await seen.Within(); // the writer has the first OK and found its write not durable

        // The rest of the read: another write (an ACK's record: the batch appended no SEND, so it is closed
        // with appended = false, and the waiting writer alone makes it ask for the commit).
        var second = _rig.Append();
        Assert.True(outbox.TryEnqueue(OutboxItem.Ok(2, second)));
        outbox.CloseReaderBatch(appended: false);

        var ok1 = await _rig.Frames.ReadFrameAsync();
        var ok2 = await _rig.Frames.ReadFrameAsync();
        Assert.Equal(((FrameType.Ok, 1u), (FrameType.Ok, 2u)), ((ok1.Header.Type, ok1.Header.RequestId), (ok2.Header.Type, ok2.Header.RequestId)));
        Assert.True(ok1.DurableWhenFlushed >= second.Position, $"the first OK left at durable position {ok1.DurableWhenFlushed}: a commit was started mid-batch, before the batch's second write ({second.Position})");

        // The reader now waits on the socket, its batch closed: a later reply (a push pump's, say) must not
        // wait for a batch end that will not come.
        var third = _rig.Append();
        Assert.True(outbox.TryEnqueue(OutboxItem.Ok(3, third)));
        var ok3 = await _rig.Frames.ReadFrameAsync();
        Assert.Equal((FrameType.Ok, 3u), (ok3.Header.Type, ok3.Header.RequestId));
        Assert.True(ok3.DurableWhenFlushed >= third.Position);
        outbox.Complete();
        Assert.False(await drain.Within());
    }

    [Fact]
    public async Task A_batch_that_ends_with_nothing_to_commit_and_nobody_waiting_starts_no_commit()
    {
        await _rig.CreateAddressAsync();
        var outbox = _rig.NewOutbox();
        var undurable = _rig.Append(); // written by someone else, not by this batch
        var flushes = _rig.Storage.GetStatistics().Flushes;

        outbox.OpenReaderBatch();
        Assert.True(outbox.TryEnqueue(OutboxItem.Pong(1)));
        outbox.CloseReaderBatch(appended: false);

        Assert.Equal(flushes, _rig.Storage.GetStatistics().Flushes);
        Assert.False(_rig.Storage.IsDurable(undurable));
    }

    [Fact]
    public async Task A_batch_that_appended_starts_its_commit_even_with_no_reply_waiting_yet()
    {
        // A SEND's record must become durable soon even before the writer reaches its OK: the push pumps of
        // other connections wait for it too.
        await _rig.CreateAddressAsync();
        var outbox = _rig.NewOutbox();
        outbox.OpenReaderBatch();
        var written = _rig.Append();

        outbox.CloseReaderBatch(appended: true);

        Assert.True(_rig.Storage.IsDurable(written));
    }

    [Fact]
    public async Task A_store_that_closes_while_a_reply_waits_for_the_batch_ends_the_writer_and_the_OK_is_never_written()
    {
        await _rig.CreateAddressAsync();
        var outbox = _rig.NewOutbox();
        outbox.OpenReaderBatch();
        var ticket = _rig.Append();
        Assert.True(outbox.TryEnqueue(OutboxItem.Ok(1, ticket)));
        var seen = _rig.Storage.WhenObservedUndurable(ticket);
        var drain = outbox.DrainAsync(_rig.Output, CancellationToken.None);
        await seen.Within();

        _rig.Storage.Abandon(); // closed past the shutdown timeout: nothing more becomes durable
        outbox.CloseReaderBatch(appended: true); // the reader's batch ends as usual, and must not throw

        await Assert.ThrowsAsync<ObjectDisposedException>(() => drain.Within());
        Assert.Equal(0, _rig.Output.FlushedBytes);
    }
}
