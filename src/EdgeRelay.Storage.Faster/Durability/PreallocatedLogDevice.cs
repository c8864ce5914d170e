using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The log's device: segment files <c>prefix.N</c>, as FASTER's own local device names them, written so that a
/// commit costs the disk one data write and one cache flush, with no file-system journal commit.
/// </summary>
/// <remarks>
/// <para>Why not FASTER's device: on Linux it opens every file with O_SYNC and appends, so each commit's write
/// grows the file (block allocation and a new size) and changes its mtime, and the kernel commits the
/// file-system journal with it: measured on ext4, three device writes and two flushes per commit instead of one
/// write and one flush.</para>
/// <para>What this does instead: a write is a <c>pwrite</c> followed by <c>fdatasync</c>, which flushes the
/// data and only the metadata needed to read it back (never the mtime). And the segments are filled with
/// zeros up to <see cref="ZeroWindow"/> past the log's furthest write, in the background, in large buffered
/// writes made durable by one <c>fdatasync</c> per chunk: the log's writes then overwrite blocks that are
/// already allocated and inside the file's size, so the <c>fdatasync</c> has no metadata to write. (Reserving space with <c>fallocate</c> is not enough:
/// ext4 marks such blocks unwritten, and the first write to each converts it in the journal.)</para>
/// <para>The zeros are an optimisation only: a write that lands where they have not been written yet is
/// still made durable by its <c>fdatasync</c>, with the journal commit it needs. Zeros are also what recovery
/// and <see cref="LogVerifier"/> read as "nothing written here", as they read past a file's end: the log's
/// end is found by its content, not by the file's size.</para>
/// <para>Zeros never overwrite data: for each segment the device knows where its furthest write ended, and
/// the zero-filler, holding the same lock, writes only past it.</para>
/// </remarks>
internal sealed partial class PreallocatedLogDevice : StorageDeviceBase
{
    /// <summary>How much the zero-filler writes (and makes durable) at a time.</summary>
    internal const int ZeroChunk = 1 << 20;

    private readonly ConcurrentDictionary<int, Segment> _segments = new();
    private readonly bool _preallocate;
    private readonly Lock _zeroGate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wakeFiller = new(0);
    private Task _filler = Task.CompletedTask; // the filler's thread, started by the first write
    private TaskCompletionSource _pass = Completed(); // the filler's current pass; completed while it is idle
    private volatile bool _disposed;

    /// <param name="prefix">The path FASTER appends <c>.N</c> to for segment N.</param>
    /// <param name="preallocate">False writes the same way without zero-filling ahead (measurements, tests).</param>
    public PreallocatedLogDevice(string prefix, bool preallocate = true)
        : base(prefix, 512, Devices.CAPACITY_UNSPECIFIED)
    {
        _preallocate = preallocate;
        var directory = Path.GetDirectoryName(Path.GetFullPath(prefix));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
    }

    /// <summary>
    /// Has the filler zero up to exactly where the writes so far want zeros, even less than a chunk ahead of where
    /// it stopped, and completes when it has (tests).
    /// </summary>
    internal Task CatchUpZerosAsync()
    {
        WakeFiller();
        lock (_zeroGate)
        {
            return _pass.Task;
        }
    }

    public override unsafe void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        Segment segment;
        try
        {
            segment = GetSegment(segmentId);
            lock (segment.Gate)
            {
                // Before the write is issued, so the zero-filler, which checks under the same lock, stays behind it.
                segment.WrittenUntil = Math.Max(segment.WrittenUntil, (long)destinationAddress + numBytesToWrite);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            callback(ErrorCode(ex), 0, context);
            return;
        }

        if (_preallocate && segmentSize > 0)
        {
            var start = ((long)segmentId * segmentSize) + (long)destinationAddress;
            ZeroAhead(start, start + numBytesToWrite);
        }

        // FASTER issues page flushes from the threads that append: the synchronous write and flush run on
        // the thread pool so that no appender waits for the disk.
        ThreadPool.UnsafeQueueUserWorkItem(
            static op => op.Run(),
            new IoOperation(segment, sourceAddress, (long)destinationAddress, numBytesToWrite, write: true, callback, context),
            preferLocal: false);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        Segment segment;
        try
        {
            segment = GetSegment(segmentId);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            callback(ErrorCode(ex), 0, context);
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static op => op.Run(),
            new IoOperation(segment, destinationAddress, (long)sourceAddress, readLength, write: false, callback, context),
            preferLocal: false);
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override void RemoveSegment(int segment)
    {
        if (_segments.TryRemove(segment, out var removed))
        {
            removed.Handle.Dispose();
        }

        try
        {
            File.Delete(SegmentPath(segment));
        }
        catch (IOException)
        {
            // As FASTER's own device: a segment that cannot be deleted now stays behind the log's begin address,
            // where nothing reads it.
        }
    }

    public override long GetFileSize(int segment)
    {
        if (segmentSize > 0)
        {
            return segmentSize;
        }

        return RandomAccess.GetLength(GetSegment(segment).Handle);
    }

    public override void Dispose()
    {
        _disposed = true;
        _stop.Cancel();
        _wakeFiller.Release(); // a filler waiting for work sees the stop
        try
        {
            _filler.Wait();
        }
        catch (AggregateException)
        {
            // Failures of the zero-filler are already handled where they happen.
        }

        foreach (var segment in _segments.Values)
        {
            segment.Handle.Dispose();
        }

        _segments.Clear();
        _stop.Dispose();
        _wakeFiller.Dispose();
    }

    private static uint ErrorCode(Exception ex) => ex.HResult != 0 ? (uint)(ex.HResult & 0xFFFF) : uint.MaxValue;

    private string SegmentPath(int segment) => GetSegmentFilename(FileName, segment);

    private Segment GetSegment(int segmentId)
    {
        if (_segments.TryGetValue(segmentId, out var segment))
        {
            return segment;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        return _segments.GetOrAdd(segmentId, static (id, device) => new Segment(device.OpenFile(id)), this);
    }

    private SafeFileHandle OpenFile(int segment)
    {
        var path = SegmentPath(segment);
        var created = !File.Exists(path);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        if (created)
        {
            // fdatasync makes a segment's blocks durable, not its name: without the directory synced, a crash could
            // leave committed records in a file the directory no longer lists. Once per segment, before any write
            // to it is issued (the first write opens it), so before any commit in it is acknowledged.
            DirectorySync.Flush(Path.GetDirectoryName(path)!);
        }

        return handle;
    }

    /// <summary>
    /// Makes what was written to <paramref name="handle"/> durable: <c>fdatasync</c> where the platform has it
    /// (no mtime, so no journal commit for an overwrite), otherwise a full flush.
    /// </summary>
    internal static void FlushData(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                if (FdataSync((int)handle.DangerousGetHandle()) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new IOException($"fdatasync failed with errno {errno.ToString(CultureInfo.InvariantCulture)}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdataSync(int fd);

    private sealed class Segment(SafeFileHandle handle)
    {
        public SafeFileHandle Handle { get; } = handle;

        public Lock Gate { get; } = new();

        /// <summary>The furthest end of any write issued to this segment (under <see cref="Gate"/>).</summary>
        public long WrittenUntil { get; set; }
    }
}
