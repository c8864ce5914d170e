using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// The relay's push receiver in the load generator: one connection that AUTHs for its addresses, SUBSCRIBEs to
/// each, hands every DELIVER's messages to the sink, then ACKs them and grants their credit back.
/// </summary>
/// <remarks>
/// <para>Why not the client library's subscription: on a 2-core machine the generator and the relay share the
/// CPU, so a receiver that spends as much per message as the relay halves what the relay can show. This one
/// parses DELIVER frames in the pipe's own buffers and writes ACK and CREDIT frames from one reused buffer,
/// so a delivered message costs it no allocation. The wire is the same (docs/PROTOCOL.md 4.5, 4.7, 4.8).</para>
/// <para>One connection holds many subscriptions (one per address), so thousands of subscribers need no
/// more connections than senders. Requests are pipelined, and at most <see cref="MaxUnanswered"/> are
/// unanswered at once: below the relay's read-ahead (<c>max_in_flight</c>), so the relay never stops
/// reading this socket while this receiver waits to write.</para>
/// </remarks>
internal sealed class PushReceiver : IAsyncDisposable
{
    /// <summary>Credit per subscription: the relay's default cap, so push never waits for credit in a throughput run.</summary>
    public const uint Credit = 1024;

    private const int MaxUnanswered = 512;
    private const uint FirstRequestId = 1;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly IDeliverySink _sink;
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private readonly CancellationTokenSource _stop = new();

    // Ids delivered and not yet acked, by address (lists reused), and the addresses that have any, in order.
    private readonly Dictionary<AddressId, List<long>> _unacked = [];
    private readonly Queue<AddressId> _toAck = new();
    private int _maxUnanswered = MaxUnanswered;
    private byte[] _scratch = new byte[64];
    private Task _loop = Task.CompletedTask;
    private uint _nextRequest = FirstRequestId;
    private int _unanswered;

    private PushReceiver(Socket socket, IDeliverySink sink)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _sink = sink;
    }

    /// <summary>Connects, authenticates for <paramref name="addresses"/> with <paramref name="owner"/>, subscribes to each, and starts receiving.</summary>
    public static async Task<PushReceiver> StartAsync(IPEndPoint endPoint, Key owner, IReadOnlyList<AddressId> addresses, DeliveryPolicy policy, IDeliverySink sink, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        socket.NoDelay = true;
        var receiver = new PushReceiver(socket, sink);
        try
        {
            await receiver.SetUpAsync(owner, addresses, policy, cancellationToken);
            receiver._loop = Task.Run(receiver.ReceiveAsync, CancellationToken.None);
            return receiver;
        }
        catch
        {
            await receiver.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The loop ends as the socket closes under it.
        }

        await _reader.CompleteAsync();
        await _stream.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>HELLO, then AUTH (256 claims a frame), SET_POLICY if the run asked for one, and SUBSCRIBE for every address, each answered before the loop starts.</summary>
    private async Task SetUpAsync(Key owner, IReadOnlyList<AddressId> addresses, DeliveryPolicy policy, CancellationToken cancellationToken)
    {
        FrameWriter.WriteHello(_output, NextRequest());
        await FlushAsync(cancellationToken);
        var hello = await ReadReplyAsync(cancellationToken);
        if (hello.Type != FrameType.HelloReply || !BodyReader.TryReadServerInfo(new ReadOnlySequence<byte>(hello.Body), out var info))
        {
            throw new LoadTestException($"push receiver: HELLO answered {hello.Type}");
        }

        _maxUnanswered = Math.Clamp(info.MaxInFlight / 2, 2, MaxUnanswered);
        var nonce = info.AuthNonce.ToArray();
        var signed = new byte[SignaturePayloads.AuthLength];
        var claims = new List<AuthClaim>(ProtocolLimits.MaxAuthClaims);
        var requests = 0;
        for (var start = 0; start < addresses.Count; start += ProtocolLimits.MaxAuthClaims)
        {
            claims.Clear();
            for (var i = start; i < Math.Min(addresses.Count, start + ProtocolLimits.MaxAuthClaims); i++)
            {
                SignaturePayloads.WriteAuth(signed, nonce, addresses[i]);
                claims.Add(new AuthClaim(addresses[i], SignatureAlgorithm.Ed25519.Sign(owner, signed)));
            }

            FrameWriter.WriteAuth(_output, NextRequest(), claims.ToArray());
            requests++;
        }

        // A policy other than the one every address starts with is set before SUBSCRIBE, so no push precedes it.
        if (policy != DeliveryPolicy.Immediate)
        {
            foreach (var address in addresses)
            {
                FrameWriter.WriteSetPolicy(_output, NextRequest(), address, policy);
                requests++;
            }
        }

        foreach (var address in addresses)
        {
            FrameWriter.WriteCredit(_output, FrameType.Subscribe, NextRequest(), address, Credit);
            requests++;
        }

        await FlushAsync(cancellationToken);

        // DELIVER frames may come before the last OK: they are handled (and acked) like any other.
        _unanswered = requests;
        while (_unanswered > 0)
        {
            if (!await ReadRoundAsync(cancellationToken))
            {
                throw new LoadTestException($"push receiver: the relay closed the connection with {_unanswered} set-up request(s) unanswered");
            }
        }
    }

    /// <summary>Receives until disposed; a failure (an ERROR, the connection lost) goes to the sink.</summary>
    private async Task ReceiveAsync()
    {
        var stop = _stop.Token;
        try
        {
            while (await ReadRoundAsync(stop))
            {
            }

            if (!stop.IsCancellationRequested)
            {
                _sink.OnReceiverFailed(new LoadTestException("push receiver: the relay closed the connection"));
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The failure is handed to the sink, which fails the sends waiting on this receiver.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _sink.OnReceiverFailed(ex);
        }
    }

    /// <summary>
    /// Handles every complete frame one read brought, then writes the ACK and CREDIT frames they call for in one
    /// write. False when the relay closed the connection.
    /// </summary>
    private async ValueTask<bool> ReadRoundAsync(CancellationToken cancellationToken)
    {
        var result = await _reader.ReadAsync(cancellationToken);
        var buffer = result.Buffer;
        while (FrameReader.TryRead(ref buffer, int.MaxValue, out var header, out var body) == FrameParseStatus.Complete)
        {
            Handle(header, body);
        }

        _reader.AdvanceTo(buffer.Start, buffer.End);
        if (_unanswered == 0)
        {
            WriteAcks();
        }

        if (_output.WrittenCount > 0)
        {
            await FlushAsync(cancellationToken);
        }

        return !result.IsCompleted;
    }

    private void Handle(FrameHeader header, ReadOnlySequence<byte> body)
    {
        switch (header.Type)
        {
            case FrameType.Deliver:
                Deliver(body);
                break;
            case FrameType.Ok when header.RequestId != 0:
                _unanswered--;
                break;
            case FrameType.Error:
                var code = BodyReader.TryReadError(body, out var error) ? error.Code.ToString() : "malformed";
                throw new LoadTestException($"push receiver: request {header.RequestId} refused with {code}");
            default:
                throw new LoadTestException($"push receiver: unexpected {header.Type} frame");
        }
    }

    /// <summary>Hands each message of one DELIVER to the sink and gathers its ids for the ACK.</summary>
    private void Deliver(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        Span<byte> head = stackalloc byte[ProtocolConstants.AddressIdLength + 2];
        if (!reader.TryCopyTo(head))
        {
            throw new LoadTestException("push receiver: DELIVER shorter than its header");
        }

        var address = AddressId.Read(head);
        int count = BinaryPrimitives.ReadUInt16BigEndian(head[ProtocolConstants.AddressIdLength..]);
        reader.Advance(head.Length);
        if (count == 0)
        {
            return;
        }

        if (!_unacked.TryGetValue(address, out var ids))
        {
            _unacked[address] = ids = [];
        }

        if (ids.Count == 0)
        {
            _toAck.Enqueue(address);
        }

        Span<byte> message = stackalloc byte[DeliveredMessage.HeaderLength];
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryCopyTo(message))
            {
                throw new LoadTestException("push receiver: DELIVER shorter than its count");
            }

            reader.Advance(message.Length);
            ids.Add(BinaryPrimitives.ReadInt64BigEndian(message));
            var length = BinaryPrimitives.ReadInt32BigEndian(message[16..]);
            if (reader.Remaining < length)
            {
                throw new LoadTestException("push receiver: DELIVER shorter than its messages");
            }

            if (reader.UnreadSpan.Length >= length)
            {
                _sink.OnDelivered(reader.UnreadSpan[..length]);
            }
            else
            {
                // Split over two buffer segments: rare, so a copy.
                if (_scratch.Length < length)
                {
                    _scratch = new byte[length];
                }

                reader.TryCopyTo(_scratch.AsSpan(0, length));
                _sink.OnDelivered(_scratch.AsSpan(0, length));
            }

            reader.Advance(length);
        }
    }

    /// <summary>
    /// Once every earlier request is answered, acks what was delivered since, an ACK and a CREDIT per address
    /// (a fraction of the relay's read-ahead at a time). One round of ACKs at a time, as a client that awaits
    /// its ACK does: each ACK is a log record the relay commits, so acking every frame at once would cost the
    /// relay a record and a reply per DELIVER instead of per commit.
    /// </summary>
    private void WriteAcks()
    {
        while (_toAck.Count > 0 && _unanswered + 2 <= _maxUnanswered)
        {
            var address = _toAck.Dequeue();
            var ids = _unacked[address];
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids);
            for (var start = 0; start < span.Length; start += ProtocolLimits.MaxAckIds)
            {
                var chunk = span.Slice(start, Math.Min(ProtocolLimits.MaxAckIds, span.Length - start));
                FrameWriter.WriteAck(_output, NextRequest(), address, chunk);
                FrameWriter.WriteCredit(_output, FrameType.Credit, NextRequest(), address, (uint)chunk.Length);
                _unanswered += 2;
            }

            ids.Clear();
        }
    }

    private async ValueTask<(FrameType Type, byte[] Body)> ReadReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (FrameReader.TryRead(ref buffer, int.MaxValue, out var header, out var body) == FrameParseStatus.Complete)
            {
                var copy = body.ToArray();
                _reader.AdvanceTo(buffer.Start);
                return (header.Type, copy);
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new LoadTestException("push receiver: the relay closed the connection during HELLO");
            }
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(_output.WrittenMemory, cancellationToken);
        _output.ResetWrittenCount();
    }

    private uint NextRequest() => _nextRequest++;
}
