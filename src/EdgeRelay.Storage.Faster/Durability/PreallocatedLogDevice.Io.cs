using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>The device's I/O on the thread pool, and the zero-filler that preallocates segments ahead of the log.</summary>
internal sealed partial class PreallocatedLogDevice
{
    /// <summary>Zeros start on a page-cache page boundary past the data, so no zero write shares a page with a record.</summary>
    private const int ZeroAlignment = 4096;

    private static readonly byte[] Zeros = new byte[ZeroChunk];

    private int _scheduledThrough = -1;

    /// <summary>
    /// Schedules zero-filling of the rest of <paramref name="segmentId"/> and all of the next segment, once per
    /// segment: one background task at a time, in order.
    /// </summary>
    private void ZeroAhead(int segmentId)
    {
        var through = segmentId + 1;
        if (Volatile.Read(ref _scheduledThrough) >= through || segmentSize <= 0)
        {
            return;
        }

        lock (_zeroGate)
        {
            if (_scheduledThrough >= through || _disposed)
            {
                return;
            }

            var from = Math.Max(_scheduledThrough + 1, segmentId);
            Volatile.Write(ref _scheduledThrough, through);
            var previous = _zeroing;
            _zeroing = Task.Factory.StartNew(
                () =>
                {
                    previous.Wait();
                    for (var segment = from; segment <= through && !_stop.IsCancellationRequested; segment++)
                    {
                        if (!TryZero(segment))
                        {
                            return;
                        }

                        Volatile.Write(ref _zeroedThrough, segment);
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }
    }

    /// <summary>Fills the segment with zeros from past anything written (by this run or an earlier one) to its end.</summary>
    /// <returns>False if it stopped early (disposed, or the file failed: the log's own writes will report that).</returns>
    private bool TryZero(int segmentId)
    {
        try
        {
            var segment = GetSegment(segmentId);
            var position = 0L;
            while (position < segmentSize)
            {
                if (_stop.IsCancellationRequested)
                {
                    return false;
                }

                lock (segment.Gate)
                {
                    // Never below the file's end (an earlier run's records, or zeros already written) nor below
                    // any write this run issued; the lock keeps the log's next write from being issued meanwhile.
                    var floor = Math.Max(segment.WrittenUntil, RandomAccess.GetLength(segment.Handle));
                    if (position < floor)
                    {
                        position = (floor + ZeroAlignment - 1) / ZeroAlignment * ZeroAlignment;
                        continue;
                    }

                    var length = (int)Math.Min(ZeroChunk - (position % ZeroChunk), segmentSize - position);
                    RandomAccess.Write(segment.Handle, Zeros.AsSpan(0, length), position);
                    position += length;
                }

                // Durable chunk by chunk: the log's own fdatasync of this file then never has megabytes of
                // zeros to write back first, and the blocks are allocated before the log reaches them.
                FlushData(segment.Handle);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // Only an optimisation failed: writes past this point still grow the file and are made durable.
            return false;
        }
    }

    /// <summary>One read or write, run on the thread pool, completing with FASTER's callback.</summary>
    private sealed class IoOperation(Segment segment, IntPtr memory, long position, uint length, bool write, DeviceIOCompletionCallback callback, object context)
    {
        public unsafe void Run()
        {
            uint done = 0;
            uint error = 0;
            try
            {
                var span = new Span<byte>((void*)memory, (int)length);
                if (write)
                {
                    RandomAccess.Write(segment.Handle, span, position);
                    FlushData(segment.Handle);
                    done = length;
                }
                else
                {
                    // Past the file's end there is nothing: a short read, as FASTER's own device reports it.
                    while (done < length)
                    {
                        var n = RandomAccess.Read(segment.Handle, span[(int)done..], position + done);
                        if (n == 0)
                        {
                            break;
                        }

                        done += (uint)n;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                error = ErrorCode(ex);
                done = 0;
            }

            callback(error, done, context);
        }
    }
}
