using FASTER.core;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// FASTER's device, with reads that fail where a test says: a disk that cannot read some sectors. Writes and
/// everything else go to the real device.
/// </summary>
internal sealed class FaultyDevice(IDevice inner, Func<int, ulong, uint, bool> failRead)
    : StorageDeviceBase(inner.FileName, inner.SectorSize, inner.Capacity)
{
    public override void Initialize(long segmentSize, LightEpoch? epoch = null, bool omitSegmentIdFromFilename = false)
    {
        base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        if (failRead(segmentId, sourceAddress, readLength))
        {
            callback(5, 0, context); // EIO
            return;
        }

        inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context) =>
        inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) => inner.RemoveSegmentAsync(segment, callback, result);

    public override void RemoveSegment(int segment) => inner.RemoveSegment(segment);

    public override long GetFileSize(int segment) => inner.GetFileSize(segment);

    public override bool TryComplete() => inner.TryComplete();

    public override bool Throttle() => inner.Throttle();

    public override void Reset() => inner.Reset();

    public override void Dispose() => inner.Dispose();
}
