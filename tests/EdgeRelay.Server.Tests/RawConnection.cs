using System.Buffers;
using System.Net;
using System.Net.Sockets;
using EdgeRelay.Protocol;

namespace EdgeRelay.Server.Tests;

/// <summary>A bare socket for sending what no well-behaved client would, and reading the raw replies.</summary>
internal sealed class RawConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _buffered;

    private RawConnection(Socket socket) => _socket = socket;

    public static async Task<RawConnection> ConnectAsync(IPEndPoint endPoint, bool hello = true)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var connection = new RawConnection(socket);
        if (hello)
        {
            await connection.SendAsync(w => FrameWriter.WriteHello(w, 1));
            var (header, _) = await connection.ReadFrameAsync();
            Assert.Equal(FrameType.HelloReply, header.Type);
        }

        return connection;
    }

    /// <summary>Wraps a socket the test connected itself (e.g. from a chosen source address).</summary>
    public static RawConnection Wrap(Socket socket) => new(socket);

    public Task SendAsync(Action<ArrayBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return SendRawAsync(writer.WrittenMemory.ToArray());
    }

    public async Task SendRawAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public async Task<(FrameHeader Header, byte[] Body)> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_buffer, 0, _buffered);
            var status = FrameReader.TryRead(ref sequence, _buffer.Length, out var header, out var body);
            if (status == FrameParseStatus.Complete)
            {
                var result = (header, body.ToArray());
                var used = _buffered - (int)sequence.Length;
                Buffer.BlockCopy(_buffer, used, _buffer, 0, _buffered - used);
                _buffered -= used;
                return result;
            }

            int read = await _socket.ReceiveAsync(_buffer.AsMemory(_buffered), SocketFlags.None, cts.Token);
            if (read == 0)
            {
                throw new EndOfStreamException("The relay closed the connection.");
            }

            _buffered += read;
        }
    }

    /// <summary>Reads an ERROR frame and returns the request id it answers and its code.</summary>
    public async Task<(uint RequestId, ErrorCode Code)> ReadErrorWithIdAsync()
    {
        var (header, body) = await ReadFrameAsync();
        Assert.Equal(FrameType.Error, header.Type);
        Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(body), out var error));
        return (header.RequestId, error.Code);
    }

    /// <summary>Reads an ERROR frame and returns its code.</summary>
    public async Task<ErrorCode> ReadErrorAsync()
    {
        var (header, body) = await ReadFrameAsync();
        Assert.Equal(FrameType.Error, header.Type);
        Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(body), out var error));
        return error.Code;
    }

    /// <summary>True when the relay closed the connection (reads end) within the time allowed.</summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan? within = null)
    {
        using var cts = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                int read = await _socket.ReceiveAsync(_buffer.AsMemory(_buffered), SocketFlags.None, cts.Token);
                if (read == 0)
                {
                    return true;
                }

                _buffered += read;
            }
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A PING answered proves the connection is still open and in sync.</summary>
    public async Task AssertStillOpenAsync()
    {
        await SendAsync(w => FrameWriter.WriteEmpty(w, FrameType.Ping, 777));
        var (header, _) = await ReadFrameAsync();
        Assert.Equal(FrameType.Pong, header.Type);
        Assert.Equal(777u, header.RequestId);
    }

    public void Dispose() => _socket.Dispose();
}
