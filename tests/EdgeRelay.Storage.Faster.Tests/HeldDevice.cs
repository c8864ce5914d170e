using EdgeRelay.Testing.Storage;
using FASTER.core;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// FASTER's device, with writes a test can hold back (a disk that has not answered yet) or fail (a disk that
/// refuses them). Held writes reach the real device, in order, on <see cref="Release"/>; reads and everything
/// else go straight to it. Orders a test's steps without sleeping: while writes are held, no commit completes.
/// </summary>
internal sealed class HeldDevice(IDevice inner) : DelegatingDevice(inner)
{
    private readonly Lock _lock = new();
    private List<Action>? _held;
    private TaskCompletionSource _writeHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _failWrites;

    /// <summary>Completes once a write has been held since the last <see cref="Hold"/>: a flush is under way and stuck.</summary>
    public Task WriteHeld
    {
        get
        {
            lock (_lock)
            {
                return _writeHeld.Task;
            }
        }
    }

    /// <summary>From now on every write fails with EIO.</summary>
    public bool FailWrites
    {
        get => _failWrites;
        set => _failWrites = value;
    }

    /// <summary>Holds every write from now on until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _held ??= [];
            _writeHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets the held writes through, in the order they were issued, and stops holding.</summary>
    public void Release()
    {
        List<Action>? held;
        lock (_lock)
        {
            held = _held;
            _held = null;
        }

        foreach (var write in held ?? [])
        {
            write();
        }
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        if (_failWrites)
        {
            // Completed off the caller's thread, as a real device completes: FASTER issues writes under its epoch.
            ThreadPool.QueueUserWorkItem(_ => callback(5, 0, context)); // EIO
            return;
        }

        lock (_lock)
        {
            if (_held is not null)
            {
                _held.Add(() => Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context));
                _writeHeld.TrySetResult();
                return;
            }
        }

        Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
    }
}
