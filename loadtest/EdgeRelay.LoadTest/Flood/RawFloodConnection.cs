using System.Buffers;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>One frame as a flood reads it: its header, its body copied out, and the error it carries if any.</summary>
internal readonly record struct RawFrame(FrameHeader Header, byte[] Body)
{
    public ErrorCode? Error =>
        Header.Type == FrameType.Error && BodyReader.TryReadError(new ReadOnlySequence<byte>(Body), out var error) ? error.Code : null;
}

/// <summary>
/// A protocol v1 connection written frame by frame, for what the real client will not send: a length prefix far
/// over the maximum, an AUTH signed once and repeated, a connection opened and held without a request. Frames
/// are written with <see cref="FrameWriter"/> and read one at a time; a flood has at most one request in flight.
/// </summary>
internal sealed class RawFloodConnection : IAsyncDisposable
{
    /// <summary>Larger than any reply a flood gets (ERROR, SERVER_INFO, OK); a longer one is not the relay.</summary>
    private const int MaxReplyBody = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _header = new byte[ProtocolConstants.HeaderLength];

    private RawFloodConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Connects and sends HELLO; the first reply (SERVER_INFO, or CONNECTION_LIMIT's ERROR) is the caller's to read.</summary>
    public static async Task<RawFloodConnection> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RawFloodConnection(socket);
        try
        {
            await connection.WriteAsync(static w => FrameWriter.WriteHello(w, 1), cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task WriteAsync(Action<ArrayBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        await WriteAsync(buffer.WrittenMemory, cancellationToken);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>The next frame, or null when the relay closed the connection (at a frame boundary or not).</summary>
    public async Task<RawFrame?> ReadAsync(CancellationToken cancellationToken)
    {
        if (await _stream.ReadAtLeastAsync(_header, _header.Length, throwOnEndOfStream: false, cancellationToken) < _header.Length)
        {
            return null;
        }

        var header = FrameHeader.Read(_header);
        if (header.BodyLength > MaxReplyBody)
        {
            throw new IOException($"a {header.Type} reply of {header.BodyLength} bytes: not the relay");
        }

        var body = new byte[header.BodyLength];
        if (await _stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken) < body.Length)
        {
            return null;
        }

        return new RawFrame(header, body);
    }

    /// <summary>Whether the relay has closed its side: a read returns end of stream (waits for it, or for the token).</summary>
    public async Task<bool> IsClosedByPeerAsync(CancellationToken cancellationToken)
    {
        var one = new byte[1];
        try
        {
            return await _stream.ReadAsync(one, cancellationToken) == 0;
        }
        catch (IOException)
        {
            return true; // reset: closed just as well
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
