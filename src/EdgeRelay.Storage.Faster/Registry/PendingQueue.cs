using System.Diagnostics;
using System.Numerics;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The un-acked messages of one address, oldest (lowest id) first: a growable ring of 32-byte
/// structs, so an append costs no allocation once the ring has grown to the address' backlog.
/// </summary>
/// <remarks>
/// <para>Up to <see cref="ChunkSize"/> entries the ring is one array that doubles. Past that it is a table of
/// fixed 64 KiB chunks, and growing adds chunks rather than copying the ring: a backlog of millions
/// would otherwise be copied into an array twice its size (64 MB for 2 M messages) under the address'
/// gate, stalling every SEND to it, and leave the old array as garbage on the large-object heap.</para>
/// <para>An empty queue is a count, a byte sum and a reference to a shared empty ring (no array until the first
/// message, none again once <see cref="TrimExcess"/> finds it idle for an interval): every <see cref="AddressEntry"/>
/// is one, and most addresses are idle.</para>
/// <para>Not thread-safe: every call happens under the owning <see cref="AddressEntry"/>'s lock. Ids only ever
/// arrive in increasing order (the store enqueues and indexes under that lock, recovery scans the log in
/// order), so an append is a store at the end and lookups are binary searches.</para>
/// <para>Longer than most files because it is one data structure whose invariants (ring head, chunk table,
/// moved count, peak) every method keeps; splitting it would scatter them.</para>
/// </remarks>
internal partial class PendingQueue
{
    private const int MinCapacity = 8;

    /// <summary>Entries per chunk: 2048 × 32 B = 64 KiB, below the large-object threshold.</summary>
    internal const int ChunkSize = 1 << ChunkBits;

    private const int ChunkBits = 11;

    private Ring _ring = Ring.Empty;
    private int _count;
    private long _bytes;

    public int Count => _count;

    /// <summary>Sum of the pending ciphertext lengths (the per-address byte quota counts this).</summary>
    public long Bytes => _bytes;

    public int Capacity => _ring.Capacity;

    /// <summary>The lowest pending id, or <see cref="long.MaxValue"/> when empty.</summary>
    public long OldestId => _count == 0 ? long.MaxValue : At(0).Id;

    /// <summary>The newest message's id; <see cref="long.MinValue"/> when none.</summary>
    public long NewestId => _count == 0 ? long.MinValue : At(_count - 1).Id;

    /// <summary>
    /// The lowest log address any pending message still needs, or <see cref="long.MaxValue"/> when empty:
    /// the oldest id, unless compaction moved messages (then a scan, on the maintenance path only).
    /// </summary>
    public long LowestLocation
    {
        get
        {
            if (_ring.Moved == 0)
            {
                return OldestId;
            }

            var lowest = long.MaxValue;
            for (var i = 0; i < _count; i++)
            {
                lowest = Math.Min(lowest, At(i).Location);
            }

            return lowest;
        }
    }

    public void Append(PendingEntry message)
    {
        Debug.Assert(_count == 0 || At(_count - 1).Id < message.Id, "ids arrive in increasing order");
        if (_count == _ring.Capacity)
        {
            Grow();
        }

        EnsureChunk(_count);
        Slot(_count) = message;
        _bytes += message.Length;
        if (++_count > _ring.PeakSinceTrim)
        {
            _ring.PeakSinceTrim = _count;
        }
    }

    /// <summary>
    /// Recovery only: puts a message that compaction moved back in id order when its original record
    /// was truncated away (a MessageMoved record names an id lower than ones already indexed), or points
    /// an indexed message at its new location. O(n) for an insert in the middle; compaction moves few.
    /// </summary>
    /// <returns>True when inserted, false when an indexed message was relocated.</returns>
    public bool InsertOrRelocate(PendingEntry message)
    {
        var i = LowerBound(message.Id);
        if (i < _count && At(i).Id == message.Id)
        {
            Relocate(i, message.Location);
            return false;
        }

        if (_count == _ring.Capacity)
        {
            Grow();
        }

        EnsureChunk(_count);
        for (var j = _count; j > i; j--)
        {
            Slot(j) = At(j - 1);
        }

        Slot(i) = message;
        _count++;
        _bytes += message.Length;
        if (message.Location != message.Id)
        {
            _ring.Moved++;
        }

        _ring.PeakSinceTrim = Math.Max(_ring.PeakSinceTrim, _count);
        return true;
    }

    /// <summary>Points message <paramref name="id"/> at <paramref name="location"/> if it is still pending at <paramref name="expectedLocation"/>.</summary>
    public bool TryRelocate(long id, long expectedLocation, long location)
    {
        var i = LowerBound(id);
        if (i >= _count || At(i).Id != id || At(i).Location != expectedLocation)
        {
            return false;
        }

        Relocate(i, location);
        return true;
    }

    /// <summary>The pending message with this id, if any.</summary>
    public bool TryGet(long id, out PendingEntry message)
    {
        var i = LowerBound(id);
        if (i < _count && At(i).Id == id)
        {
            message = At(i);
            return true;
        }

        message = default;
        return false;
    }

    /// <summary>
    /// Copies the ids of messages received at or before <paramref name="receivedAtOrBeforeUnixMs"/>, oldest
    /// first, into <paramref name="destination"/>; returns how many. Ids follow arrival order, so the scan
    /// stops at the first younger message (a clock stepped back only delays an expiry to a later sweep).
    /// </summary>
    public int CopyExpired(long receivedAtOrBeforeUnixMs, Span<long> destination)
    {
        var written = 0;
        for (var i = 0; i < _count && written < destination.Length; i++)
        {
            var message = At(i);
            if (message.ReceivedAtUnixMs > receivedAtOrBeforeUnixMs)
            {
                break;
            }

            destination[written++] = message.Id;
        }

        return written;
    }

    /// <summary>
    /// The log bytes (as moved records) of the messages located below <paramref name="before"/>, counted
    /// until the sum passes <paramref name="stopAbove"/> (maintenance only). Allocation-free, and without
    /// moved entries it stops at the first message at or past <paramref name="before"/>: deciding that a
    /// large backlog is too dense to compact costs a scan of the budget's worth of it, not of all of it.
    /// </summary>
    public long SumLocatedBelow(long before, long stopAbove)
    {
        long sum = 0;
        for (var i = 0; i < _count && sum <= stopAbove; i++)
        {
            var message = At(i);
            if (message.Location < before)
            {
                sum += LogRecords.MovedHeaderSize + message.Length;
            }
            else if (_ring.Moved == 0)
            {
                break; // locations are the ids, in increasing order
            }
        }

        return sum;
    }

    /// <summary>Adds the messages located below <paramref name="before"/> to <paramref name="into"/>, at most <paramref name="max"/> of them, oldest first (maintenance only).</summary>
    public void CopyLocatedBelow(long before, List<PendingEntry> into, int max)
    {
        for (var i = 0; i < _count && max > 0; i++)
        {
            var message = At(i);
            if (message.Location < before)
            {
                into.Add(message);
                max--;
            }
            else if (_ring.Moved == 0)
            {
                break;
            }
        }
    }

    private void Relocate(int index, long location)
    {
        ref var slot = ref Slot(index);
        var wasMoved = slot.Location != slot.Id;
        slot = slot with { Location = location };
        var isMoved = location != slot.Id;
        _ring.Moved += (isMoved ? 1 : 0) - (wasMoved ? 1 : 0);
    }

    /// <summary>True if <paramref name="id"/> is pending here and below <paramref name="committedUntil"/> (i.e. deliverable).</summary>
    public bool ContainsCommitted(long id, long committedUntil)
    {
        if (id >= committedUntil)
        {
            return false;
        }

        var i = LowerBound(id);
        return i < _count && At(i).Id == id;
    }

    /// <summary>Copies the pending messages with <paramref name="afterId"/> &lt; id &lt; <paramref name="committedUntil"/>, oldest first, as the contract lists them.</summary>
    public int CopyCommitted(long afterId, long committedUntil, Span<PendingMessage> destination)
    {
        var i = afterId == long.MaxValue ? _count : LowerBound(afterId + 1);
        var written = 0;
        for (; i < _count && written < destination.Length; i++)
        {
            var message = At(i);
            if (message.Id >= committedUntil)
            {
                break;
            }

            destination[written++] = message.ToPendingMessage();
        }

        return written;
    }

    /// <summary>
    /// Removes the messages with these ids; ids not pending (or repeated) are ignored.
    /// Returns how many were removed and, in <paramref name="removedBytes"/>, their total length.
    /// </summary>
    /// <remarks>
    /// Acks usually name the oldest messages, so marked entries at the head are dropped by moving the
    /// head (O(k log n)); only acks with holes pay one compaction pass over the ring.
    /// </remarks>
    public int Remove(ReadOnlySpan<long> ids, out long removedBytes)
    {
        removedBytes = 0;
        var removed = 0;
        foreach (var id in ids)
        {
            var i = LowerBound(id);
            if (i < _count)
            {
                ref var slot = ref Slot(i);
                if (slot.Id == id && slot.Length >= 0)
                {
                    removedBytes += slot.Length;
                    removed++;
                    if (slot.Location != slot.Id)
                    {
                        _ring.Moved--;
                    }

                    slot = slot with { Length = -1 }; // mark; ids stay in place so the searches above stay valid
                }
            }
        }

        if (removed == 0)
        {
            return 0;
        }

        _bytes -= removedBytes;
        var marked = removed;
        while (_count > 0 && Slot(0).Length < 0)
        {
            _ring.Head = (_ring.Head + 1) & (_ring.Capacity - 1);
            _count--;
            marked--;
        }

        if (marked > 0)
        {
            var write = 0;
            for (var read = 0; read < _count; read++)
            {
                var message = At(read);
                if (message.Length >= 0)
                {
                    Slot(write) = message;
                    write++;
                }
            }

            _count = write;
        }

        return removed;
    }

    /// <summary>
    /// Gives memory back once a backlog has drained (maintenance only: it allocates). Sized on the
    /// peak since the previous trim, not on the current count, so an address that fills and drains
    /// every interval keeps its ring instead of regrowing it each time; one that held nothing for a whole
    /// interval frees it, however small, since idle addresses are most of a relay's.
    /// </summary>
    public void TrimExcess()
    {
        var needed = Math.Max(_ring.PeakSinceTrim, _count);
        if (needed == 0 ? _ring.Capacity > 0 : _ring.Capacity > 64 && needed < _ring.Capacity / 4)
        {
            Resize(needed == 0 ? 0 : Math.Max(MinCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)needed * 2)));
        }

        if (_ring != Ring.Empty)
        {
            _ring.PeakSinceTrim = _count;
        }
    }

    private PendingEntry At(int index) => Slot(index);

    /// <summary>The slot of the <paramref name="index"/>-th entry from the head (index &lt; capacity).</summary>
    private ref PendingEntry Slot(int index)
    {
        var slot = (_ring.Head + index) & (_ring.Capacity - 1);
        return ref _ring.Chunks[slot >> ChunkBits][slot & (ChunkSize - 1)];
    }

    /// <summary>Allocates the chunk that the <paramref name="index"/>-th entry from the head falls in, if it is not yet.</summary>
    private void EnsureChunk(int index)
    {
        var chunk = ((_ring.Head + index) & (_ring.Capacity - 1)) >> ChunkBits;
        _ring.Chunks[chunk] ??= new PendingEntry[ChunkSize];
    }

    private void Grow()
    {
        if (_ring.Capacity < ChunkSize)
        {
            Resize(Math.Max(MinCapacity, _ring.Capacity * 2));
            return;
        }

        // Full, so the ring may wrap inside the head's chunk: entries [headOffset, ChunkSize) of it are the
        // oldest, [0, headOffset) the newest. Rotate the table so the head's chunk comes first and give the
        // newest part a chunk of its own right after the last old chunk: one chunk copied at most, the rest
        // only references. The new half's other chunks are allocated as appends reach them (EnsureChunk), so
        // memory follows the backlog instead of doubling ahead of it.
        var old = _ring.Chunks;
        var headChunk = _ring.Head >> ChunkBits;
        var headOffset = _ring.Head & (ChunkSize - 1);
        var chunks = new PendingEntry[old.Length * 2][];
        for (var i = 0; i < old.Length; i++)
        {
            chunks[i] = old[(headChunk + i) % old.Length];
        }

        var wrapped = new PendingEntry[ChunkSize];
        old[headChunk].AsSpan(0, headOffset).CopyTo(wrapped);
        chunks[old.Length] = wrapped;

        _ring.Chunks = chunks;
        _ring.Capacity *= 2;
        _ring.Head = headOffset;
    }

    /// <summary>Index of the first message whose id is &gt;= <paramref name="id"/>.</summary>
    private int LowerBound(long id)
    {
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (At(mid).Id < id)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Copies the entries into fresh storage of <paramref name="capacity"/> (a power of two, or 0), head first.</summary>
    private void Resize(int capacity)
    {
        if (capacity == 0)
        {
            _ring = Ring.Empty; // only ever asked with nothing pending
            return;
        }

        var chunks = new PendingEntry[capacity == 0 ? 0 : Math.Max(1, capacity >> ChunkBits)][];
        for (var c = 0; c < chunks.Length; c++)
        {
            chunks[c] = new PendingEntry[Math.Min(capacity, ChunkSize)];
        }

        for (var i = 0; i < _count; i++)
        {
            var message = At(i);
            chunks[i >> ChunkBits][i & (ChunkSize - 1)] = message;
        }

        _ring = new Ring { Chunks = chunks, Capacity = capacity, PeakSinceTrim = _ring.PeakSinceTrim, Moved = _ring.Moved };
    }
}
