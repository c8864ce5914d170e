using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>The device's I/O on the thread pool, and the zero-filler that keeps zeros ahead of the log.</summary>
internal sealed partial class PreallocatedLogDevice
{
    /// <summary>Zeros start on a page-cache page boundary past the data, so no zero write shares a page with a record.</summary>
    private const int ZeroAlignment = 4096;

    private static readonly byte[] Zeros = new byte[ZeroChunk];

    /// <summary>
    /// How far past the furthest write the zeros are kept (at most a segment): enough for the log to run into
    /// zeros at disk speed while the filler, which writes much larger blocks, stays ahead; small enough that a
    /// relay that writes little never writes a whole segment of zeros.
    /// </summary>
    internal const long ZeroWindow = 32L << 20;

    private long _zeroTarget = -1;
    private long _zeroedUntil = -1;
    private int _filling;
    private int _fillerThreads;
    private int _fillerPasses;

    /// <summary>Log address up to which the zero-filler has gone (tests).</summary>
    internal long ZeroedUntil => Interlocked.Read(ref _zeroedUntil);

    /// <summary>Threads the filler has started (tests: one for the device's life).</summary>
    internal int FillerThreads => Volatile.Read(ref _fillerThreads);

    /// <summary>Passes the filler was woken for (tests: about one per chunk of log, not one per write).</summary>
    internal int FillerPasses => Volatile.Read(ref _fillerPasses);

    /// <summary>Raises the address zeros are wanted up to after a write ending at <paramref name="writeEnd"/>, and wakes the filler when it has a chunk to write.</summary>
    private void ZeroAhead(long writeStart, long writeEnd)
    {
        var target = writeEnd + Math.Min(ZeroWindow, segmentSize);
        var current = Interlocked.Read(ref _zeroTarget);
        while (target > current)
        {
            var seen = Interlocked.CompareExchange(ref _zeroTarget, target, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        // The first write says where this run's log is: the filler starts at the beginning of that segment
        // (skipping what the file already holds), never at address 0 of a log that was truncated long ago.
        Interlocked.CompareExchange(ref _zeroedUntil, writeStart - (writeStart & (segmentSize - 1)), -1);

        // Woken once per chunk of log, not per write: a commit every millisecond or two would otherwise wake
        // it for a few hundred KiB each time, and each of those wakes ends in an fdatasync of its own. The
        // window keeps the zeros far enough ahead for this slack.
        if (Math.Max(target, current) - Interlocked.Read(ref _zeroedUntil) >= ZeroChunk)
        {
            WakeFiller();
        }
    }

    /// <summary>Starts a pass of the filler unless one is under way (it then sees the new target itself).</summary>
    private void WakeFiller()
    {
        if (Volatile.Read(ref _filling) != 0 || Interlocked.CompareExchange(ref _filling, 1, 0) != 0)
        {
            return;
        }

        lock (_zeroGate)
        {
            if (_pass.Task.IsCompleted)
            {
                _pass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            // One thread for the device's life, started by the first pass: starting a thread per pass (a task
            // marked long-running is a new thread each time) cost more CPU and garbage per message than the
            // zeros themselves.
            if (_filler.IsCompleted && !_disposed)
            {
                _fillerThreads++;
                _filler = Task.Factory.StartNew(FillerLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }

        Interlocked.Increment(ref _fillerPasses);
        _wakeFiller.Release();
    }

    private void FillerLoop()
    {
        while (true)
        {
            _wakeFiller.Wait();
            if (_stop.IsCancellationRequested)
            {
                EndPass();
                return;
            }

            Fill();
            EndPass();
        }
    }

    private void EndPass()
    {
        lock (_zeroGate)
        {
            _pass.TrySetResult();
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    /// <summary>One pass: zeros from <see cref="_zeroedUntil"/> to the target, chunk by chunk, until it catches up.</summary>
    private void Fill()
    {
        while (true)
        {
            var at = Interlocked.Read(ref _zeroedUntil);
            if (_stop.IsCancellationRequested || at >= Interlocked.Read(ref _zeroTarget))
            {
                Volatile.Write(ref _filling, 0);

                // A write that raised the target after the check above saw the flag still set: look again.
                if (_stop.IsCancellationRequested || Interlocked.Read(ref _zeroTarget) <= at || Interlocked.CompareExchange(ref _filling, 1, 0) != 0)
                {
                    return;
                }

                continue;
            }

            var segmentStart = at - (at & (segmentSize - 1));
            var limit = Math.Min(segmentStart + segmentSize, Interlocked.Read(ref _zeroTarget));
            var next = TryZeroChunk((int)(segmentStart / segmentSize), at - segmentStart, limit - segmentStart);
            if (next < 0)
            {
                // Only an optimisation failed (disposed, or the file: the log's own writes will report that);
                // writes past this point still grow the file and are made durable. Stay stopped: the flag stays
                // set, so no write wakes the filler again.
                return;
            }

            Interlocked.Exchange(ref _zeroedUntil, segmentStart + next);
        }
    }

    /// <summary>
    /// Zeros one chunk of the segment at <paramref name="position"/>, or skips past anything written there (by
    /// this run or an earlier one); returns the position reached, or -1 if it failed.
    /// </summary>
    private long TryZeroChunk(int segmentId, long position, long limit)
    {
        try
        {
            var segment = GetSegment(segmentId);
            lock (segment.Gate)
            {
                // Never below the file's end (an earlier run's records, or zeros already written) nor below any
                // write this run issued; the lock keeps the log's next write from being issued meanwhile.
                var floor = Math.Max(segment.WrittenUntil, RandomAccess.GetLength(segment.Handle));
                if (position < floor)
                {
                    return Math.Min(segmentSize, (floor + ZeroAlignment - 1) / ZeroAlignment * ZeroAlignment);
                }

                var length = (int)Math.Min(ZeroChunk - (position % ZeroChunk), limit - position);
                RandomAccess.Write(segment.Handle, Zeros.AsSpan(0, length), position);
                position += length;
            }

            // Durable chunk by chunk: the log's own fdatasync of this file then never has megabytes of zeros to
            // write back first, and the blocks are allocated before the log reaches them.
            FlushData(segment.Handle);
            return position;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return -1;
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
