using System.IO.Pipelines;
using System.Threading.Channels;
using EdgeRelay.Storage;

namespace EdgeRelay.Server;

/// <summary>
/// The ordered reply queue of one connection, drained by a single writer task.
/// </summary>
/// <remarks>
/// Replies leave in request order. A reply that promises durability (the OK of a SEND, a created address,
/// an ACK) waits until its <see cref="DurabilityTicket"/> is durable; everything queued behind it waits too,
/// which is what makes pipelined SENDs acknowledged in order. Tickets of one storage become durable in
/// order, so waiting for each in turn costs one flush per batch, not one per reply. The queue is bounded: when it is full the reader
/// stops reading from the socket, so a client that outruns the disk is slowed down instead of buffered.
/// </remarks>
internal sealed class Outbox
{
    private readonly Channel<OutboxItem> _channel;
    private readonly IDurability _durability;
    private readonly Metrics.RelayMetrics _metrics;

    // Set while the session's read loop is handling one read's frames (see RelaySession.OpenBatch); a
    // writer that needs a commit then waits for the batch's end instead of starting a commit mid-batch.
    private int _readerBatchOpen;
    private TaskCompletionSource<Task>? _batchWaiter;

    public Outbox(int capacity, IDurability durability, Metrics.RelayMetrics metrics)
    {
        _durability = durability;
        _metrics = metrics;
        _channel = Channel.CreateBounded<OutboxItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false, // the session's reader, and push pumps queueing DELIVER frames
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Queues a reply; false when the outbox is full (the caller then uses <see cref="EnqueueAsync"/>).</summary>
    public bool TryEnqueue(in OutboxItem item) => _channel.Writer.TryWrite(item);

    public async ValueTask EnqueueAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        while (!_channel.Writer.TryWrite(item))
        {
            if (!await _channel.Writer.WaitToWriteAsync(cancellationToken))
            {
                return;
            }
        }
    }

    public void OpenReaderBatch() => Volatile.Write(ref _readerBatchOpen, 1);

    /// <summary>
    /// Ends the reader's batch; requests a flush when the batch appended records or when the writer is
    /// waiting, and hands the writer the round that covers them.
    /// </summary>
    public void CloseReaderBatch(bool appended)
    {
        // Both exchanges are full fences: with the writer's exchange-then-read below, either the writer
        // sees the batch closed, or this sees the writer's waiter (Dekker).
        Interlocked.Exchange(ref _readerBatchOpen, 0);
        var waiter = Interlocked.Exchange(ref _batchWaiter, null);
        if (!appended && waiter is null)
        {
            return;
        }

        Task round;
        try
        {
            round = _durability.FlushAsync();
        }
        catch (ObjectDisposedException ex)
        {
            // The store closed (shutdown past its timeout): nothing more becomes durable; the writer ends.
            waiter?.TrySetException(ex);
            return;
        }

        waiter?.TrySetResult(round);
    }

    /// <summary>Queues a pushed frame, waiting for room; false once the outbox is completed (the session is ending).</summary>
    public async ValueTask<bool> PushAsync(OutboxItem item)
    {
        while (!_channel.Writer.TryWrite(item))
        {
            if (!await _channel.Writer.WaitToWriteAsync())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>No more replies will be queued: the writer drains what is there, then ends.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>
    /// Writes replies to <paramref name="output"/> until the outbox is completed and empty, or a reply that
    /// closes the connection was written. Flushes once per batch, not once per reply.
    /// </summary>
    /// <returns>True when a closing reply was written.</returns>
    public async Task<bool> DrainAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        int unflushed = 0;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryPeek(out var item))
            {
                if (item.Gate is { IsCompleted: false } gate)
                {
                    // Another store's commit (the outbound log's): show the client what is ready, then wait.
                    if (unflushed > 0)
                    {
                        var flushed = await output.FlushAsync(cancellationToken);
                        unflushed = 0;
                        if (flushed.IsCompleted || flushed.IsCanceled)
                        {
                            return false;
                        }
                    }

                    await gate;
                }
                else if (item.Gate is { IsCompletedSuccessfully: false } failed)
                {
                    await failed; // a faulted wait (the store closed): the writer ends as for its own store
                }

                if (!item.Ticket.IsNone && !_durability.IsDurable(item.Ticket))
                {
                    // Let the client see what is already durable while the next flush is in progress.
                    if (unflushed > 0)
                    {
                        var flushed = await output.FlushAsync(cancellationToken);
                        unflushed = 0;
                        if (flushed.IsCompleted || flushed.IsCanceled)
                        {
                            return false;
                        }
                    }

                    // No token: a flush always completes (or faults when the storage closes), and an
                    // uncancellable wait allocates nothing.
                    while (!_durability.IsDurable(item.Ticket))
                    {
                        if (Volatile.Read(ref _readerBatchOpen) == 1)
                        {
                            var waiter = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
                            Interlocked.Exchange(ref _batchWaiter, waiter);
                            if (Volatile.Read(ref _readerBatchOpen) == 1)
                            {
                                await await waiter.Task; // the round the batch's end requested
                                continue;
                            }

                            Interlocked.CompareExchange(ref _batchWaiter, null, waiter); // it closed meanwhile
                        }

                        await _durability.WaitDurableAsync(item.Ticket, CancellationToken.None);
                    }
                }

                reader.TryRead(out item);
                var (type, length) = item.WriteTo(output);
                _metrics.FrameSent(type, length);
                if (item.ArrivedAt != 0)
                {
                    _metrics.AckLatency.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(item.ArrivedAt).TotalSeconds);
                }

                unflushed++;
                if (item.CloseAfter)
                {
                    await output.FlushAsync(cancellationToken);
                    return true;
                }
            }

            if (unflushed > 0)
            {
                var flushed = await output.FlushAsync(cancellationToken);
                unflushed = 0;
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return false;
                }
            }
        }

        return false;
    }
}
