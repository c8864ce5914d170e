using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client;

public sealed partial class RelayClient
{
    private async Task<Reply> RequestAsync<TState>(Action<IBufferWriter<byte>, uint, TState> write, TState state, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ThrowIfFailed();
        await _window.WaitAsync(cancellationToken);
        var window = _window;
        bool releaseSlot = true;
        try
        {
            var completion = new TaskCompletionSource<Reply>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_sync)
            {
                // Checked under the lock that Fail drains the queue under: no request is queued after a failure.
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                ThrowIfFailed();
                uint id = ++_nextRequestId == 0 ? ++_nextRequestId : _nextRequestId; // 0 is the server's "no request"
                write(_outgoing.Writer, id, state);
                _inFlight.Enqueue((id, completion));
                Volatile.Write(ref _lastSent, _time.GetTimestamp());
                Publish(_outgoing.Writer.FlushAsync(CancellationToken.None));
            }

            Reply reply;
            try
            {
                reply = await completion.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (!completion.Task.IsCompleted)
            {
                // The caller stops waiting, but the request is on the wire and still unanswered: it keeps its
                // window slot until its reply (or the connection's end) completes it. Released now, repeated
                // cancellations would put ever more unanswered requests on the wire than the window allows,
                // and the window is all that bounds the outgoing pipe.
                releaseSlot = false;
                _ = completion.Task.ContinueWith(
                    static (task, slot) =>
                    {
                        _ = task.Exception; // nobody awaits it any more: observed here so that it is not reported as unobserved
                        ((SemaphoreSlim)slot!).Release();
                    },
                    window,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                throw;
            }

            if (reply.Type == FrameType.Error)
            {
                throw ToException(reply);
            }

            return reply;
        }
        finally
        {
            if (releaseSlot)
            {
                window.Release();
            }
        }
    }

    /// <summary>The outgoing pipe has no pause threshold (the window bounds it), so its flush never waits.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012", Justification = "Completed synchronously: the pipe never applies back-pressure.")]
    private static void Publish(ValueTask<FlushResult> flush)
    {
        if (!flush.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("The outgoing pipe applied back-pressure, which it is configured never to do.");
        }
    }

    /// <summary>Moves whatever callers have written to the socket: one write per batch, not per request.</summary>
    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await _stream.WriteAsync(segment);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            // The socket is gone: every caller gets the same clear exception, whichever noticed first.
            Fail(new RelayException("The connection to the relay failed: " + ex.Message, ex));
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(_closed.Token);
                var buffer = result.Buffer;
                try
                {
                    while (true)
                    {
                        var status = FrameReader.TryRead(ref buffer, _maxReplyBody, out var header, out var body);
                        if (status == FrameParseStatus.Incomplete)
                        {
                            break;
                        }

                        if (status != FrameParseStatus.Complete)
                        {
                            throw new RelayException(ErrorCode.MalformedFrame, "the server sent a frame this client cannot read");
                        }

                        if (header.Type == FrameType.Deliver)
                        {
                            Dispatch(body);
                            continue;
                        }

                        if (header.Type == FrameType.Config && header.RequestId == 0)
                        {
                            DispatchConfig(body);
                            continue;
                        }

                        if (header.Type == FrameType.SendState)
                        {
                            DispatchSendState(body);
                            continue;
                        }

                        var reply = new Reply(header.Type, header.Type == FrameType.Ok ? [] : body.ToArray());
                        TaskCompletionSource<Reply>? completion = null;
                        lock (_sync)
                        {
                            if (_inFlight.TryPeek(out var head) && head.Id == header.RequestId)
                            {
                                completion = _inFlight.Dequeue().Completion;
                            }
                        }

                        if (completion is not null)
                        {
                            completion.TrySetResult(reply);
                        }
                        else if (header.Type == FrameType.Error && header.RequestId == 0)
                        {
                            // Request id 0: a connection-level error, e.g. SHUTTING_DOWN. An ERROR for any other id
                            // that is not the oldest unanswered request is out of order like any other reply: its
                            // code belongs to another request and must not reach the callers of the pending ones.
                            Fail(ToException(reply));
                        }
                        else
                        {
                            throw new RelayException(ErrorCode.MalformedFrame, "the server answered out of order");
                        }
                    }

                    if (result.IsCompleted || result.IsCanceled)
                    {
                        Fail(new RelayException("The relay closed the connection."));
                        return;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex is RelayException or OperationCanceledException ? ex : new RelayException("The connection to the relay failed: " + ex.Message, ex));
        }
    }

    /// <summary>A DELIVER push: to its subscription, or dropped if there is none any more (the relay redelivers what is not acked).</summary>
    private void Dispatch(in ReadOnlySequence<byte> body)
    {
        if (!BodyReader.TryReadDeliver(body, out var address, out var messages))
        {
            throw new RelayException(ErrorCode.MalformedFrame, "the server's DELIVER frame does not parse");
        }

        if (_subscriptions.TryGetValue(address, out var subscription))
        {
            subscription.Deliver(ToReceived(messages));
        }
    }

    private static ReceivedMessage[] ToReceived(DeliveredMessage[] messages) =>
        Array.ConvertAll(messages, m => new ReceivedMessage(m.Id, DateTimeOffset.FromUnixTimeMilliseconds(m.ReceivedAtUnixMs), m.Ciphertext));

    private void Fail(Exception error)
    {
        if (error is RelayException { ConnectionClosed: false } relay)
        {
            // A code after which the relay would keep the connection open (MALFORMED_FRAME for a reply this client
            // cannot trust, say): this client gives up on the connection anyway, and its callers must be told.
            error = new RelayException(relay.Code, relay.Reason, relay.InnerException, connectionFailed: true);
        }

        Interlocked.CompareExchange(ref _failure, error, null);
        _failed.TrySetResult(_failure!);
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Complete(error);
        }

        _configUpdates.Writer.TryComplete(error);
        _sendStates.Writer.TryComplete(error);

        lock (_sync)
        {
            while (_inFlight.TryDequeue(out var pending))
            {
                pending.Completion.TrySetException(_failure!);
            }
        }
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw failure is RelayException relay ? new RelayException(relay.Code, relay.Reason, relay.InnerException, connectionFailed: true) : new RelayException("The connection to the relay failed.", failure);
        }
    }

    private static RelayException ToException(in Reply reply) =>
        BodyReader.TryReadError(new ReadOnlySequence<byte>(reply.Body), out var error)
            ? new RelayException(error.Code, error.Reason)
            : new RelayException(ErrorCode.MalformedFrame, "the server's ERROR frame does not parse");

    private static void ExpectOk(in Reply reply)
    {
        if (reply.Type != FrameType.Ok)
        {
            throw Unexpected(reply);
        }
    }

    private static RelayException Unexpected(in Reply reply) =>
        new(ErrorCode.MalformedFrame, $"unexpected reply type 0x{(byte)reply.Type:x2}");

    private readonly record struct Reply(FrameType Type, byte[] Body);
}
