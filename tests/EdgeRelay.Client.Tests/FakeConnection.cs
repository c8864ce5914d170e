using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client.Tests;

/// <summary>The fake relay's end of one client connection: reads the client's frames, writes whatever the test wants.</summary>
internal sealed class FakeConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _buffered;

    public FakeConnection(Socket socket) => _socket = socket;

    /// <summary>Reads the client's next frame; fails if the client closes the connection first.</summary>
    public async Task<(FrameHeader Header, byte[] Body)> ReadFrameAsync() =>
        await TryReadFrameAsync() ?? throw new EndOfStreamException("The client closed the connection.");

    /// <summary>Reads the client's next <paramref name="count"/> frames and returns their headers, in order.</summary>
    public async Task<FrameHeader[]> ReadFramesAsync(int count)
    {
        var headers = new FrameHeader[count];
        for (int i = 0; i < count; i++)
        {
            headers[i] = (await ReadFrameAsync()).Header;
        }

        return headers;
    }

    /// <summary>
    /// Reads every frame the client still sends until it closes its end, and returns their headers. This is
    /// how a test proves that the client did not send something: disposing the client flushes all it has
    /// written and then closes, so the end of the stream is a fence behind everything it ever sent.
    /// </summary>
    public async Task<List<FrameHeader>> ReadUntilClosedAsync()
    {
        var headers = new List<FrameHeader>();
        while (await TryReadFrameAsync() is { } frame)
        {
            headers.Add(frame.Header);
        }

        return headers;
    }

    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        await SendRawAsync(writer.WrittenMemory);
    }

    public Task SendRawAsync(byte[] bytes) => SendRawAsync(bytes.AsMemory());

    private async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            bytes = bytes[sent..];
        }
    }

    public Task PongAsync(uint requestId) => SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.Pong, requestId));

    public Task ErrorAsync(uint requestId, ErrorCode code, string reason) => SendAsync(w => FrameWriter.WriteError(w, requestId, code, reason));

    /// <summary>A well-formed MESSAGES reply holding one message per id (each ciphertext is the id's low byte, once).</summary>
    public Task MessagesAsync(uint requestId, params long[] messageIds) => SendAsync(w =>
    {
        var lengths = messageIds.Select(_ => 1).ToArray();
        FrameWriter.WriteMessagesHeader(w, requestId, FrameWriter.MessagesBodyLength(lengths), messageIds.Length, more: false);
        foreach (var id in messageIds)
        {
            FrameWriter.WriteDeliveredMessage(w, id, 1_700_000_000_000, [(byte)id]);
        }
    });

    /// <summary>A DELIVER push (request id 0) of one message per id, laid out as <see cref="MessagesAsync"/> lays them out.</summary>
    public Task DeliverAsync(AddressId address, params long[] messageIds)
    {
        int bodyLength = FrameWriter.DeliverBodyLength(messageIds.Length, messageIds.Length);
        var frame = new byte[ProtocolConstants.HeaderLength + bodyLength];
        int at = FrameWriter.WriteDeliverHeader(frame, bodyLength, address, messageIds.Length);
        foreach (var id in messageIds)
        {
            FrameWriter.WriteDeliveredMessageHeader(frame.AsSpan(at), id, 1_700_000_000_000, 1);
            at += DeliveredMessage.HeaderLength;
            frame[at++] = (byte)id;
        }

        return SendRawAsync(frame);
    }

    /// <summary>A frame header written byte by byte, so that a test can set what <see cref="FrameWriter"/> never would.</summary>
    public static byte[] Header(int bodyLength, FrameType type, byte flags, uint requestId)
    {
        var bytes = new byte[ProtocolConstants.HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)bodyLength);
        bytes[4] = (byte)type;
        bytes[5] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(6), requestId);
        return bytes;
    }

    /// <summary>Ends the connection with a FIN, as a relay that closes on purpose does.</summary>
    public void Close()
    {
        _socket.Shutdown(SocketShutdown.Both);
        _socket.Close();
    }

    /// <summary>Ends the connection with a RST, as a crashed relay or a broken network path does.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>The client's next frame, or null when it closed its end between frames.</summary>
    private async Task<(FrameHeader Header, byte[] Body)?> TryReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_buffer, 0, _buffered);
            var status = FrameReader.TryRead(ref sequence, _buffer.Length, out var header, out var body);
            if (status == FrameParseStatus.Complete)
            {
                var frame = (header, body.ToArray());
                int used = _buffered - (int)sequence.Length;
                Buffer.BlockCopy(_buffer, used, _buffer, 0, _buffered - used);
                _buffered -= used;
                return frame;
            }

            Assert.Equal(FrameParseStatus.Incomplete, status);
            int read;
            try
            {
                read = await _socket.ReceiveAsync(_buffer.AsMemory(_buffered), SocketFlags.None, timeout.Token);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                read = 0;
            }

            if (read == 0)
            {
                Assert.True(_buffered == 0, "The client closed the connection in the middle of a frame.");
                return null;
            }

            _buffered += read;
        }
    }
}
