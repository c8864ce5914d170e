using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// The machine's own cost of handing a process fresh memory: maps a block of the given size and writes one
/// byte into each page, which is the least any program pays to hold that many bytes it has just filled.
/// <c>idle-addresses</c> measures it beside each relay start, for the relay's peak resident size, because on a
/// virtual machine whose host backs guest memory lazily this alone can take most of the start.
/// </summary>
internal static class MemoryFaultIn
{
    /// <summary>Seconds to fault in <paramref name="bytes"/> of fresh anonymous memory, page by page; the memory is freed after.</summary>
    public static unsafe TimeSpan Measure(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var page = Environment.SystemPageSize;

        // A block this large is its own fresh mapping (the allocator maps it rather than reusing its heap), so every
        // page is new to the process, as the GC heap's pages are to the relay.
        var block = (byte*)NativeMemory.Alloc((nuint)bytes);
        try
        {
            var clock = Stopwatch.StartNew();
            for (long offset = 0; offset < bytes; offset += page)
            {
                block[offset] = 1;
            }

            return clock.Elapsed;
        }
        finally
        {
            NativeMemory.Free(block);
        }
    }
}
