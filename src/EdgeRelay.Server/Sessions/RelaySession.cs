using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using EdgeRelay.Addressing;
using EdgeRelay.Delivery;
using EdgeRelay.Protocol;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Server;

/// <summary>
/// One client connection: reads frames, dispatches them, and hands replies to its <see cref="Outbox"/>;
/// also the <see cref="IDeliveryTarget"/> of its push subscriptions.
/// </summary>
/// <remarks>
/// Two loops per connection, as in Kestrel's HTTP/2 and SignalR handlers: this reader, and the outbox
/// writer which waits for commits and flushes replies in order. The reader never waits for the disk; it
/// only stops when the outbox is full (back-pressure). Command families live in partial files:
/// RelaySession.Handshake.cs, .Ingest.cs (SEND), .Resolve.cs (its address resolution), .Addresses.cs,
/// .Delivery.cs (PULL, ACK), .Limits.cs (the SEND rate), .Push.cs (SUBSCRIBE, CREDIT, the owner's address settings), .Access.cs
/// (AUTH_TOKEN and the sending service's authorisation), .Status.cs (STATUS, CONFIG pushes, roles),
/// .Attachments.cs (uploads).
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "RunAsync owns the session's whole lifetime and disposes _aborted when it ends.")]
public sealed partial class RelaySession : IDeliveryTarget
{
    private readonly RelayServer _server;
    private readonly ConnectionContext _connection;
    private readonly Outbox _outbox;
    private readonly CancellationTokenSource _aborted = new();
    private MissRateLimiter _missLimiter;
    private long _lastActivity;
    private bool _handshakeDone;
    private volatile bool _stopReading;
    private bool _batchAppended;
    private volatile bool _closeRequested;
    private long _id;
    private int _timedOut;

    internal RelaySession(RelayServer server, ConnectionContext connection)
    {
        _server = server;
        _connection = connection;
        _outbox = new Outbox(server.Options.Relay.MaxInFlightPerConnection, server.Storage, server.Metrics);
        _missLimiter = server.Resolver.CreateLimiter(MissClass.Anonymous, server.Time.TimestampFrequency, server.Time.GetTimestamp());
        _lastActivity = server.Time.GetTimestamp();
    }

    private ILogger Logger => _server.Logger;

    public async Task RunAsync()
    {
        _id = _server.Register(this);
        // Kestrel signals a graceful stop through this feature (the connection's "please close" token).
        var lifetime = _connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var closeRegistration = lifetime?.ConnectionClosedRequested.Register(static s => ((RelaySession)s!).RequestClose(), this);
        if (_server.IsShuttingDown)
        {
            RequestClose();
        }

        var writer = WriteLoopAsync();
        try
        {
            await ReadLoopAsync();
        }
        catch (ConnectionResetException)
        {
            // The peer went away: nothing to answer.
        }
        catch (ConnectionAbortedException)
        {
            // Aborted by the idle watchdog or by the server: nothing to answer.
        }
        catch (OperationCanceledException) when (_aborted.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            RelayLog.SessionFault(Logger, ex, _connection.ConnectionId);
            _outbox.TryEnqueue(OutboxItem.Failure(0, ErrorCode.InternalError, "internal error"));
        }
        finally
        {
            ReturnMisses();
            EndSubscriptions();
            EndSendWatch();
            _outbox.Complete();
            await writer;
            await _connection.Transport.Input.CompleteAsync();
            _server.Unregister(_id);
            _aborted.Dispose();
        }
    }

    private async Task ReadLoopAsync()
    {
        var input = _connection.Transport.Input;
        int maxBody = _server.MaxRequestBody;
        while (!_stopReading)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            OpenBatch();
            try
            {
                if (_closeRequested)
                {
                    await ReplyAsync(OutboxItem.Failure(0, ErrorCode.ShuttingDown, "server is shutting down"));
                    return;
                }

                if (result.IsCanceled)
                {
                    return;
                }

                while (!_stopReading)
                {
                    var status = FrameReader.TryRead(ref buffer, maxBody, out var header, out var body);
                    if (status == FrameParseStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == FrameParseStatus.TooLarge)
                    {
                        await FailConnection(ErrorCode.FrameTooLarge, "frame length exceeds the advertised maximum");
                        return;
                    }

                    if (status == FrameParseStatus.InvalidHeader)
                    {
                        await FailConnection(ErrorCode.InvalidHeader, "reserved header flags are set");
                        return;
                    }

                    _frameNumber++;
                    _unread = buffer;
                    Volatile.Write(ref _lastActivity, _server.Time.GetTimestamp());
                    _server.Metrics.FrameReceived(header.Type, ProtocolConstants.HeaderLength + body.Length);
                    _batchAppended |= header.Type == FrameType.Send;
                    var handled = HandleFrameAsync(header, body);
                    if (!handled.IsCompletedSuccessfully)
                    {
                        // Never wait with the batch open: the writer may be waiting for its close.
                        CloseBatch();
                        await handled;
                        OpenBatch();
                    }
                }

                // One commit request per read batch, not per message: the committer groups them anyway.
                CloseBatch();

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty && !_stopReading)
                    {
                        await ReplyAsync(OutboxItem.Failure(0, ErrorCode.TruncatedFrame, "connection ended inside a frame"));
                    }

                    return;
                }
            }
            finally
            {
                CloseBatch(); // every early return too, or a writer waiting for the batch would wait for ever
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    /// <summary>
    /// The read loop is handling the frames of one read. While it is, the outbox writer does not ask for a
    /// commit of its own: one commit then covers the whole batch, instead of a first one started by the
    /// writer covering only the SENDs appended so far and a second for the rest (FASTER allocates ~9 KB
    /// and the disk does one more synchronous write per commit).
    /// </summary>
    private void OpenBatch()
    {
        _batchAppended = false;
        _outbox.OpenReaderBatch();
    }

    /// <summary>Ends the batch: requests its commit if it appended anything, or if the writer is waiting for one.</summary>
    private void CloseBatch()
    {
        _outbox.CloseReaderBatch(_batchAppended);
        _batchAppended = false;
    }

    private ValueTask HandleFrameAsync(in FrameHeader header, in ReadOnlySequence<byte> body)
    {
        if (!_handshakeDone)
        {
            return header.Type == FrameType.Hello
                ? HandleHello(header.RequestId, body)
                : FailConnection(ErrorCode.HandshakeRequired, "the first frame must be HELLO");
        }

        if ((RoleOf(header.Type) & _server.Roles) == 0)
        {
            return Fail(header.RequestId, ErrorCode.UnknownCommand, (_server.Roles & ServiceRoles.Sending) == 0
                ? "this relay is not a sending service"
                : "this relay is not a receiving service");
        }

        return header.Type switch
        {
            FrameType.Send => TryTakeSendToken() ? HandleSendAsync(header.RequestId, body) : RefuseSendRate(header.RequestId),
            FrameType.Ping => body.IsEmpty ? ReplyAsync(OutboxItem.Pong(header.RequestId)) : Fail(header.RequestId, ErrorCode.MalformedFrame, "PING has an empty body"),
            FrameType.Hello => FailConnection(ErrorCode.HandshakeRequired, "HELLO was already done"),
            FrameType.CreateAddress => HandleCreateAddress(header.RequestId, body),
            FrameType.RevokeAddress => HandleRevokeAddress(header.RequestId, body),
            FrameType.Auth => HandleAuth(header.RequestId, body),
            FrameType.Pull => HandlePullAsync(header.RequestId, body),
            FrameType.Ack => HandleAck(header.RequestId, body),
            FrameType.Subscribe => HandleSubscribe(header.RequestId, body),
            FrameType.Credit => HandleCredit(header.RequestId, body),
            FrameType.Unsubscribe => HandleUnsubscribe(header.RequestId, body),
            FrameType.SetPolicy => HandleSetPolicy(header.RequestId, body),
            FrameType.SetNotify => HandleSetNotify(header.RequestId, body),
            FrameType.RenewAddress => HandleRenewAddress(header.RequestId, body),
            FrameType.AuthToken => HandleAuthToken(header.RequestId, body),
            FrameType.Status => HandleStatus(header.RequestId, body),
            FrameType.UploadBegin => HandleUploadBegin(header.RequestId, body),
            FrameType.UploadChunk => HandleUploadChunk(header.RequestId, body),
            FrameType.UploadResume => HandleUploadResume(header.RequestId, body),
            FrameType.UploadCommit => HandleUploadCommit(header.RequestId, body),
            FrameType.SendVia => HandleSendVia(header.RequestId, body),
            FrameType.SendViaMode => HandleSendViaMode(header.RequestId, body),
            FrameType.SendStatus => HandleSendStatus(header.RequestId, body),
            FrameType.WatchSends => HandleWatchSends(header.RequestId, body),
            _ => ReplyAsync(OutboxItem.Failure(header.RequestId, ErrorCode.UnknownCommand, "unknown command")),
        };
    }

    /// <summary>Queues a reply; completes synchronously unless the outbox is full.</summary>
    private ValueTask ReplyAsync(in OutboxItem item)
    {
        if (item.Type == FrameType.Error)
        {
            _server.Metrics.Refused(item.Error);
        }

        if (item.CloseAfter)
        {
            _stopReading = true;
        }

        if (_outbox.TryEnqueue(item))
        {
            return default;
        }

        // The outbox is full: the writer must be able to drain it, so it must not be waiting for this batch.
        CloseBatch();
        return _outbox.EnqueueAsync(item, _aborted.Token);
    }

    private ValueTask Fail(uint requestId, ErrorCode code, string reason) => ReplyAsync(OutboxItem.Failure(requestId, code, reason));

    /// <summary>A body that did not parse: a wrong layout is MALFORMED_FRAME, a field out of its range INVALID_ARGUMENT.</summary>
    private ValueTask FailBody(uint requestId, BodyStatus status, string malformed, string outOfRange) =>
        status == BodyStatus.OutOfRange
            ? Fail(requestId, ErrorCode.InvalidArgument, outOfRange)
            : Fail(requestId, ErrorCode.MalformedFrame, malformed);

    /// <summary>
    /// An error that closes the connection carries request id 0 whatever provoked it: it ends every request
    /// of the connection, not one, and the header it answers may be garbage (INVALID_HEADER).
    /// </summary>
    private ValueTask FailConnection(ErrorCode code, string reason) => ReplyAsync(OutboxItem.Failure(0, code, reason));

    private async Task WriteLoopAsync()
    {
        // Yield first so that the reader starts at once; the writer has nothing to do yet.
        await Task.Yield();
        var output = _connection.Transport.Output;
        try
        {
            await _outbox.DrainAsync(output, _aborted.Token);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
            // The store closed under us (shutdown past its timeout): whatever was not committed is not acknowledged.
        }
        catch (IOException ex) when (_server.StorageFailure is not null)
        {
            // A commit failed (a full disk): no reply waiting on it may be sent, and none after it could be kept.
            // Say so with request id 0, like SHUTTING_DOWN, so the client knows why it loses the connection and
            // that every request still without a reply was not acknowledged.
            RelayLog.SessionFault(Logger, ex, _connection.ConnectionId);
            await TryWriteStorageFailedAsync(output);
        }
        catch (Exception ex)
        {
            RelayLog.SessionFault(Logger, ex, _connection.ConnectionId);
        }
        finally
        {
            // Whatever ended the writer ends the reader too: no more replies could be delivered. Completing
            // the outbox also frees a reader waiting for room in it (a client that stopped reading, then left).
            _stopReading = true;
            _outbox.Complete();
            _connection.Transport.Input.CancelPendingRead();
            await output.CompleteAsync();
        }
    }

    private static async ValueTask TryWriteStorageFailedAsync(PipeWriter output)
    {
        try
        {
            FrameWriter.WriteError(output, 0, ErrorCode.InternalError, "storage failed: nothing without a reply was stored");
            await output.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The client is gone too: the closed connection says the same.
        }
    }

    /// <summary>Asks the session to stop reading, answer what it has, and close (graceful shutdown).</summary>
    internal void RequestClose()
    {
        _closeRequested = true;
        try
        {
            _connection.Transport.Input.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // Input already completed.
        }
    }

    internal void CheckTimeout(long now)
    {
        var limit = _handshakeDone ? _server.Options.Relay.IdleTimeout : _server.Options.Relay.HandshakeTimeout;
        if (_server.Time.GetElapsedTime(Volatile.Read(ref _lastActivity), now) > limit)
        {
            if (Interlocked.Exchange(ref _timedOut, 1) != 0)
            {
                return;
            }

            RelayLog.ConnectionTimedOut(Logger, _connection.ConnectionId, _handshakeDone ? "idle" : "handshake");
            (_handshakeDone ? _server.Metrics.IdleTimeouts : _server.Metrics.HandshakeTimeouts).Inc();
            try
            {
                _aborted.Cancel();
            }
            catch (ObjectDisposedException)
            {
                return; // the session ended meanwhile
            }

            _connection.Abort(new ConnectionAbortedException(_handshakeDone ? "Idle timeout." : "Handshake timeout."));
        }
    }
}
