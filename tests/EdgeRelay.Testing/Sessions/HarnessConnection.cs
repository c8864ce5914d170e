using System.Buffers;
using System.IO.Pipelines;
using EdgeRelay.Protocol;
using EdgeRelay.Server;
using EdgeRelay.Testing.Storage;
using Microsoft.AspNetCore.Connections;

namespace EdgeRelay.Testing.Sessions;

/// <summary>
/// A client connection to a <see cref="SessionHarness"/>: a real <see cref="RelaySession"/> over two in-memory
/// pipes. The session's output goes through a <see cref="StampingPipeWriter"/> that notes, at each flush, how much of the stream it
/// has written and how durable the storage was, so that a test can check what a reply promised against what
/// was durable when it left, independently of when the test reads it.
/// </summary>
public sealed class HarnessConnection : IAsyncDisposable
{
    private readonly Pipe _toServer = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly StampedFrameReader _frames;
    private readonly Task _session;
    private int _disposed;

    internal HarnessConnection(RelayServer server, InMemoryStorage storage)
    {
        var output = new StampingPipeWriter(_toClient.Writer, () => storage.DurablePosition);
        _frames = new StampedFrameReader(_toClient.Reader, output);
        var connection = new DefaultConnectionContext("harness-" + Guid.NewGuid().ToString("N")[..8], new DuplexPipe(_toServer.Reader, output), new DuplexPipe(_toClient.Reader, _toServer.Writer));
        _session = Task.Run(() => new RelaySession(server, connection).RunAsync());
    }

    /// <summary>What the relay said in HELLO (set by <see cref="SessionHarness.ConnectAsync"/>).</summary>
    public ServerInfo ServerInfo { get; internal set; } = new();

    /// <summary>Completes when the session has ended (it closed the connection, or this side completed its input).</summary>
    public Task Ended => _session;

    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        write(_toServer.Writer);
        await _toServer.Writer.FlushAsync();
    }

    public async Task SendRawAsync(byte[] bytes) => await _toServer.Writer.WriteAsync(bytes);

    /// <summary>Ends this side's stream (as a client closing its socket for sending).</summary>
    public Task CompleteSendingAsync() => _toServer.Writer.CompleteAsync().AsTask();

    /// <summary>The next frame, waiting for it at most <see cref="Bounds.Patience"/>.</summary>
    public Task<ReceivedFrame> ReadFrameAsync() => _frames.ReadFrameAsync();

    /// <summary>A frame the session has already flushed, without waiting for one; false when there is none yet.</summary>
    public bool TryReadFrame(out ReceivedFrame frame) => _frames.TryReadFrame(out frame);

    /// <summary>Reads an ERROR frame and returns its code.</summary>
    public async Task<ErrorCode> ReadErrorAsync()
    {
        var frame = await ReadFrameAsync();
        Assert.Equal(FrameType.Error, frame.Header.Type);
        Assert.True(BodyReader.TryReadError(new ReadOnlySequence<byte>(frame.Body), out var error));
        return error.Code;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _toServer.Writer.CompleteAsync();
        await _session.WaitAsync(Bounds.Patience);
        await _toClient.Reader.CompleteAsync();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
