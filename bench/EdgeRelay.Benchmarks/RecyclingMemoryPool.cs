using System.Buffers;
using System.Collections.Concurrent;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// A pipe memory pool that recycles its blocks and their owners, like Kestrel's pinned block pool.
/// </summary>
/// <remarks>
/// The embedded-session benchmark writes a whole batch into an in-memory pipe at once; with the shared
/// pool that overflows ArrayPool's buckets and allocates, which MemoryDiagnoser (which counts every
/// thread) would charge to the relay. Kestrel's sockets use a recycling pool too, so this is also the
/// closer model of production.
/// </remarks>
internal sealed class RecyclingMemoryPool : MemoryPool<byte>
{
    private const int BlockSize = 64 * 1024;
    private readonly ConcurrentBag<Block> _free = [];

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        return _free.TryTake(out var block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(RecyclingMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool._free.Add(this);
    }
}
