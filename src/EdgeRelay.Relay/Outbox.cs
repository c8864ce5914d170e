using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay;

/// <summary>One reply waiting in a session's outbox.</summary>
/// <remarks>
/// A struct so that the SEND path (an OK after a commit) queues without allocating. Replies with bodies
/// are rendered to a byte[] frame up front: server info and cards (rare) in an array of their own, message
/// lists (MESSAGES, DELIVER: the delivery path, as many bytes as ingest) in an array rented from
/// <see cref="ArrayPool{T}.Shared"/>, returned once the frame is copied into the connection's pipe.
/// </remarks>
internal readonly struct OutboxItem
{
    // The used length of a rented frame (the pool hands out larger arrays); 0 for a frame of its own.
    private readonly int _rentedLength;

    private OutboxItem(uint requestId, FrameType type, long waitForCommit, ErrorCode error, object? payload, bool closeAfter, long arrivedAt = 0, int rentedLength = 0)
    {
        _rentedLength = rentedLength;
        ArrivedAt = arrivedAt;
        RequestId = requestId;
        Type = type;
        WaitForCommit = waitForCommit;
        Error = error;
        Payload = payload;
        CloseAfter = closeAfter;
    }

    public uint RequestId { get; }

    public FrameType Type { get; }

    /// <summary>The log address a commit must cover before this reply may be written; -1 when none.</summary>
    public long WaitForCommit { get; }

    public ErrorCode Error { get; }

    /// <summary>The reason string of an error, or a pre-rendered frame.</summary>
    public object? Payload { get; }

    public bool CloseAfter { get; }

    /// <summary>For a SEND's OK: the <see cref="System.Diagnostics.Stopwatch"/> timestamp of its arrival (ack-latency metric); else 0.</summary>
    public long ArrivedAt { get; }

    /// <summary>The OK of a SEND, written once <paramref name="messageId"/> is durable.</summary>
    public static OutboxItem SendOk(uint requestId, long messageId, long arrivedAt) => new(requestId, FrameType.Ok, messageId, ErrorCode.None, null, false, arrivedAt);

    public static OutboxItem Ok(uint requestId, long waitForCommit = -1) => new(requestId, FrameType.Ok, waitForCommit, ErrorCode.None, null, false);

    public static OutboxItem Pong(uint requestId) => new(requestId, FrameType.Pong, -1, ErrorCode.None, null, false);

    public static OutboxItem Failure(uint requestId, ErrorCode code, string reason) =>
        new(requestId, FrameType.Error, -1, code, reason, ErrorCodes.ClosesConnection(code));

    public static OutboxItem Frame(byte[] frame, long waitForCommit = -1) => new(0, FrameType.Ok, waitForCommit, ErrorCode.None, frame, false);

    /// <summary>
    /// A frame in the first <paramref name="length"/> bytes of an array rented from <see cref="ArrayPool{T}.Shared"/>:
    /// the outbox owns it now and returns it once written (an item dropped unwritten leaves it to the GC).
    /// </summary>
    public static OutboxItem RentedFrame(byte[] frame, int length) => new(0, FrameType.Ok, -1, ErrorCode.None, frame, false, rentedLength: length);

    /// <summary>Writes the frame; returns its type and length in bytes (for metrics). Call once: a rented frame goes back to the pool.</summary>
    public (FrameType Type, int Length) WriteTo(PipeWriter output)
    {
        switch (Payload)
        {
            case byte[] frame when _rentedLength > 0:
                var type = (FrameType)frame[4];
                output.Write(frame.AsSpan(0, _rentedLength));
                ArrayPool<byte>.Shared.Return(frame);
                return (type, _rentedLength);
            case byte[] frame:
                output.Write(frame);
                return ((FrameType)frame[4], frame.Length);
            case string reason:
                FrameWriter.WriteError(output, RequestId, Error, reason);
                return (FrameType.Error, ProtocolConstants.HeaderLength + 3 + Math.Min(System.Text.Encoding.UTF8.GetByteCount(reason), ErrorReply.MaxReasonBytes));
            default:
                FrameWriter.WriteEmpty(output, Type, RequestId);
                return (Type, ProtocolConstants.HeaderLength);
        }
    }
}

/// <summary>
/// The ordered reply queue of one connection, drained by a single writer task.
/// </summary>
/// <remarks>
/// Replies leave in request order. A reply that promises durability (the OK of a SEND, a created address,
/// an ACK) waits until a group commit covers its record; everything queued behind it waits too, which is
/// what makes pipelined SENDs acknowledged in order. The queue is bounded: when it is full the reader
/// stops reading from the socket, so a client that outruns the disk is slowed down instead of buffered.
/// </remarks>
internal sealed class Outbox
{
    private readonly Channel<OutboxItem> _channel;
    private readonly RelayStore _store;
    private readonly Metrics.RelayMetrics _metrics;

    // Set while the session's read loop is handling one read's frames (see RelaySession.OpenBatch); a
    // writer that needs a commit then waits for the batch's end instead of starting a commit mid-batch.
    private int _readerBatchOpen;
    private TaskCompletionSource<Task>? _batchWaiter;

    public Outbox(int capacity, RelayStore store, Metrics.RelayMetrics metrics)
    {
        _store = store;
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
    /// Ends the reader's batch; requests a commit when the batch appended records or when the writer is
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
            round = _store.RequestCommitRound();
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
                if (item.WaitForCommit >= 0 && !_store.IsCommitted(item.WaitForCommit))
                {
                    // Let the client see what is already durable while the next commit is in progress.
                    if (unflushed > 0)
                    {
                        var flushed = await output.FlushAsync(cancellationToken);
                        unflushed = 0;
                        if (flushed.IsCompleted || flushed.IsCanceled)
                        {
                            return false;
                        }
                    }

                    // No token: a commit always completes (or faults when the store closes), and an
                    // uncancellable wait allocates nothing.
                    while (!_store.IsCommitted(item.WaitForCommit))
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

                        await _store.WaitForCommitAsync(item.WaitForCommit, CancellationToken.None);
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
