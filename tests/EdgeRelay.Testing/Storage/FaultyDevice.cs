using FASTER.core;

namespace EdgeRelay.Testing.Storage;

/// <summary>
/// FASTER's device, with reads and writes that fail where a test says: a disk that cannot read some sectors, or
/// one that refuses writes (full, or failing). Everything else goes to the real device. The predicates take the
/// segment, the offset in it and the length.
/// </summary>
public sealed class FaultyDevice(IDevice inner, Func<int, ulong, uint, bool> failRead, Func<int, ulong, uint, bool>? failWrite = null) : DelegatingDevice(inner)
{
    private const uint IoError = 5; // EIO, as the kernel reports a bad sector
    private const uint NoSpace = 28; // ENOSPC, as a full file system refuses a write

    /// <summary>Reads and writes that this device failed.</summary>
    public int Faults => Volatile.Read(ref _faults);

    private int _faults;

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        if (failRead(segmentId, sourceAddress, readLength))
        {
            Interlocked.Increment(ref _faults);
            callback(IoError, 0, context);
            return;
        }

        Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        if (failWrite?.Invoke(segmentId, destinationAddress, numBytesToWrite) == true)
        {
            Interlocked.Increment(ref _faults);
            callback(NoSpace, 0, context);
            return;
        }

        Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
    }
}
