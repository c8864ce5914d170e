using FASTER.core;

namespace EdgeRelay.Testing.Storage;

/// <summary>
/// A FASTER device that hands everything to a real one: the base of the test devices that change one thing
/// (<see cref="FaultyDevice"/> its reads and writes; the storage tests' held device its writes) and override only that.
/// </summary>
public abstract class DelegatingDevice(IDevice inner) : StorageDeviceBase(inner.FileName, inner.SectorSize, inner.Capacity)
{
    protected IDevice Inner { get; } = inner;

    public override void Initialize(long segmentSize, LightEpoch? epoch = null, bool omitSegmentIdFromFilename = false)
    {
        base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        Inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context) =>
        Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context) =>
        Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) => Inner.RemoveSegmentAsync(segment, callback, result);

    public override void RemoveSegment(int segment) => Inner.RemoveSegment(segment);

    public override long GetFileSize(int segment) => Inner.GetFileSize(segment);

    public override bool TryComplete() => Inner.TryComplete();

    public override bool Throttle() => Inner.Throttle();

    public override void Reset() => Inner.Reset();

    public override void Dispose()
    {
        Inner.Dispose();
        GC.SuppressFinalize(this);
    }
}
