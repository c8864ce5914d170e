using FASTER.core;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// FASTER's device, with reads that fail where a test says: a disk that cannot read some sectors. Writes and
/// everything else go to the real device.
/// </summary>
internal sealed class FaultyDevice(IDevice inner, Func<int, ulong, uint, bool> failRead) : DelegatingDevice(inner)
{
    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        if (failRead(segmentId, sourceAddress, readLength))
        {
            callback(5, 0, context); // EIO
            return;
        }

        Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);
    }
}
