using System.IO.Hashing;
using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// A memory mirror of the newest message records, so that reading a message appended moments ago (a push
/// to a subscriber, a PULL of a short backlog) is a copy instead of a device read.
/// </summary>
/// <remarks>
/// <para>
/// Why: <c>FasterLog.ReadAsync</c> always reads from the device, even when the record is still in the log's
/// own page buffers, so every delivered message cost a <c>pread</c>, a semaphore hand-off and a pooled
/// buffer. FasterLog has no public random read of its in-memory pages.
/// </para>
/// <para>
/// Layout: a record at log address A is copied to <c>ring[A mod capacity]</c>, the same bytes the log
/// holds after FASTER's 4-byte entry header. The capacity is a multiple of the page size and a record
/// never crosses a page, so a record never wraps around the ring, and the ring's content at any moment is
/// the last <c>capacity</c> bytes of the log's address space (records that are not mirrored, such as acks,
/// leave their span stale; nobody looks them up).
/// </para>
/// <para>
/// Concurrency, without locks: each appender writes only the span of the address FASTER reserved for it,
/// after the reservation moved the log's tail, and before the message enters the index, which is how a
/// reader learns its address. A reader copies, then reads the tail: if the tail is still less than
/// <c>A + capacity − page size</c>, no record reserved after A can overlap A's span. That alone misses one
/// case: a writer of an older record, stalled between its reservation and its copy while the log moved
/// on by a whole ring, landing its bytes over A's span late. So the reader also hashes what it copied
/// and compares it with the hash taken on SEND (<see cref="PendingEntry.MirrorCheck"/>); on any
/// mismatch it falls back to the device, which still has the record.
/// </para>
/// </remarks>
internal sealed class RecentRecords
{
    private readonly FasterLog _log;
    private readonly byte[] _ring;
    private readonly long _mask;
    private readonly long _reach;
    private readonly long _start;
    private long _hits;
    private long _misses;

    /// <param name="log">The log mirrored; records below its tail at this point were never mirrored.</param>
    /// <param name="sizeBits">Ring capacity as a power of two, more than one page.</param>
    /// <param name="pageSizeBits">The log's page size as a power of two.</param>
    public RecentRecords(FasterLog log, int sizeBits, int pageSizeBits)
    {
        if (sizeBits <= pageSizeBits)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeBits), sizeBits, "The ring must hold more than one log page.");
        }

        _ring = GC.AllocateUninitializedArray<byte>(1 << sizeBits);
        _mask = (1L << sizeBits) - 1;
        _reach = (1L << sizeBits) - (1L << pageSizeBits);
        _log = log;
        _start = log.TailAddress;
    }

    /// <summary>Reads served from memory since the store was opened.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Reads that had to go to the device (too old, from before the store was opened, or overwritten while copying).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The span that mirrors the record FASTER reserved at <paramref name="address"/> (its entry header's address).</summary>
    public Span<byte> SpanFor(long address, int recordLength) =>
        _ring.AsSpan((int)((address + LogRecords.FasterEntryHeaderSize) & _mask), recordLength);

    /// <summary>Mirrors an enqueued record: call right after FASTER reserved <paramref name="address"/> for it, before anyone may read it.</summary>
    public void Write<T>(long address, T entry)
        where T : ILogEnqueueEntry => entry.SerializeTo(SpanFor(address, entry.SerializedLength));

    /// <summary>The hash a message's ciphertext is checked against when read from the mirror (the low half of XXH3).</summary>
    public static uint Check(ReadOnlySpan<byte> ciphertext) => (uint)XxHash3.HashToUInt64(ciphertext);

    /// <summary>
    /// Copies the ciphertext of the message record at <paramref name="address"/> (<paramref name="length"/>
    /// bytes, hashing to <paramref name="check"/>) into <paramref name="destination"/>, or returns false when
    /// the ring no longer holds it (or never did): then read the device.
    /// </summary>
    public bool TryCopyCiphertext(long address, int length, uint check, Span<byte> destination)
    {
        if (address < _start)
        {
            Interlocked.Increment(ref _misses);
            return false;
        }

        var position = (int)((address + LogRecords.FasterEntryHeaderSize) & _mask);
        var header = LogRecords.CiphertextOffset(_ring[position]);
        if (header < 0 || position + header + length > _ring.Length || destination.Length < length)
        {
            Interlocked.Increment(ref _misses);
            return false;
        }

        _ring.AsSpan(position + header, length).CopyTo(destination);

        // The copy's loads must not pass the tail's load: a record reserved after this point may overwrite
        // the span, and only a tail read after the copy proves nothing had been reserved over it.
        Interlocked.MemoryBarrier();
        if (_log.TailAddress - address > _reach || Check(destination[..length]) != check)
        {
            Interlocked.Increment(ref _misses);
            return false;
        }

        Interlocked.Increment(ref _hits);
        return true;
    }
}
