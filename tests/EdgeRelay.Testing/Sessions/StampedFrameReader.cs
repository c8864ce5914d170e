using System.Buffers;
using System.IO.Pipelines;
using EdgeRelay.Protocol;

namespace EdgeRelay.Testing.Sessions;

/// <summary>One frame read from a session's output, and the stamp of the flush that carried it (see <see cref="StampingPipeWriter"/>).</summary>
/// <param name="Header">The frame header.</param>
/// <param name="Body">The body bytes.</param>
/// <param name="DurableWhenFlushed">
/// The storage's durable position at the flush that carried the frame: a reply promising a write with ticket T
/// must show at least T.Position here, whenever the test reads it.
/// </param>
public sealed record ReceivedFrame(FrameHeader Header, byte[] Body, long DurableWhenFlushed);

/// <summary>Reads whole frames from the reading end of a pipe whose writing end is a <see cref="StampingPipeWriter"/>.</summary>
public sealed class StampedFrameReader(PipeReader reader, StampingPipeWriter writer)
{
    private long _consumed;

    /// <summary>The next frame, waiting for it at most <see cref="Bounds.Patience"/>.</summary>
    public async Task<ReceivedFrame> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(Bounds.Patience);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"No frame within {Bounds.Patience.TotalSeconds} s.");
            }

            if (TryTake(result, out var frame))
            {
                return frame;
            }

            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The stream ended.");
            }
        }
    }

    /// <summary>A frame already flushed, without waiting for one; false when there is none (yet).</summary>
    public bool TryReadFrame(out ReceivedFrame frame)
    {
        frame = null!;
        return reader.TryRead(out var result) && TryTake(result, out frame);
    }

    private bool TryTake(ReadResult result, out ReceivedFrame frame)
    {
        var buffer = result.Buffer;
        if (FrameReader.TryRead(ref buffer, int.MaxValue, out var header, out var body) != FrameParseStatus.Complete)
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            frame = null!;
            return false;
        }

        _consumed += result.Buffer.Length - buffer.Length;
        frame = new ReceivedFrame(header, body.ToArray(), writer.DurableWhenFlushed(_consumed));
        reader.AdvanceTo(buffer.Start);
        return true;
    }
}
