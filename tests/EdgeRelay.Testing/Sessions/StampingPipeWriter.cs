using System.IO.Pipelines;

namespace EdgeRelay.Testing.Sessions;

/// <summary>
/// A pipe writer that passes everything through and notes, at each flush, how many bytes the stream holds and
/// what a stamp function said then (the storage's durable position): what a reply promised can then be checked
/// against what was durable when it left, whenever the reader gets to it.
/// </summary>
public sealed class StampingPipeWriter(PipeWriter inner, Func<long> stamp) : PipeWriter
{
    private readonly Lock _lock = new();
    private readonly List<(long Bytes, long Durable)> _flushes = [];
    private long _written;

    /// <summary>Bytes released to the reader so far (by the last flush): 0 means nothing has reached the wire.</summary>
    public long FlushedBytes
    {
        get
        {
            lock (_lock)
            {
                return _flushes.Count == 0 ? 0 : _flushes[^1].Bytes;
            }
        }
    }

    /// <summary>The stamp of the first flush that carried the stream up to <paramref name="bytes"/>.</summary>
    public long DurableWhenFlushed(long bytes)
    {
        lock (_lock)
        {
            foreach (var (flushed, durable) in _flushes)
            {
                if (flushed >= bytes)
                {
                    return durable;
                }
            }
        }

        throw new InvalidOperationException($"Byte {bytes} of the stream was read before any flush carried it.");
    }

    public override void Advance(int bytes)
    {
        _written += bytes;
        inner.Advance(bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        // Noted before the bytes are released to the reader, so a frame is never seen before its note.
        lock (_lock)
        {
            _flushes.Add((_written, stamp()));
        }

        return inner.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        lock (_lock)
        {
            _flushes.Add((_written, stamp()));
        }

        inner.Complete(exception);
    }
}
