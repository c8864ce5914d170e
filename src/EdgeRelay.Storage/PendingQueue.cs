using System.Diagnostics;
using System.Numerics;

namespace EdgeRelay.Storage;

/// <summary>
/// The un-acked messages of one address, oldest (lowest id) first: a growable ring of 24-byte
/// structs, so an append costs no allocation once the ring has grown to the address' backlog.
/// </summary>
/// <remarks>
/// Not thread-safe: every call happens under the owning <see cref="AddressEntry"/>'s lock. Ids only
/// ever arrive in increasing order (the store enqueues and indexes under that lock, recovery scans the
/// log in order), so an append is a store at the end and lookups are binary searches.
/// </remarks>
internal sealed class PendingQueue
{
    private const int MinCapacity = 8;

    private PendingMessage[] _items = [];
    private int _head;
    private int _count;
    private int _peakSinceTrim; // the most this ring held since the last TrimExcess

    public int Count => _count;

    public int Capacity => _items.Length;

    /// <summary>The lowest pending id, or <see cref="long.MaxValue"/> when empty.</summary>
    public long OldestId => _count == 0 ? long.MaxValue : _items[_head].Id;

    public void Append(PendingMessage message)
    {
        Debug.Assert(_count == 0 || At(_count - 1).Id < message.Id, "ids arrive in increasing order");
        if (_count == _items.Length)
        {
            Resize(Math.Max(MinCapacity, _items.Length * 2));
        }

        _items[(_head + _count) & (_items.Length - 1)] = message;
        if (++_count > _peakSinceTrim)
        {
            _peakSinceTrim = _count;
        }
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

    /// <summary>Copies the pending messages with <paramref name="afterId"/> &lt; id &lt; <paramref name="committedUntil"/>, oldest first.</summary>
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

            destination[written++] = message;
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
                ref var slot = ref _items[(_head + i) & (_items.Length - 1)];
                if (slot.Id == id && slot.Length >= 0)
                {
                    removedBytes += slot.Length;
                    removed++;
                    slot = slot with { Length = -1 }; // mark; ids stay in place so the searches above stay valid
                }
            }
        }

        if (removed == 0)
        {
            return 0;
        }

        var marked = removed;
        while (_count > 0 && _items[_head].Length < 0)
        {
            _head = (_head + 1) & (_items.Length - 1);
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
                    _items[(_head + write) & (_items.Length - 1)] = message;
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
    /// every interval keeps its ring instead of regrowing it each time; an idle one frees it.
    /// </summary>
    public void TrimExcess()
    {
        var needed = Math.Max(_peakSinceTrim, _count);
        if (_items.Length > 64 && needed < _items.Length / 4)
        {
            Resize(needed == 0 ? 0 : Math.Max(MinCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)needed * 2)));
        }

        _peakSinceTrim = _count;
    }

    private PendingMessage At(int index) => _items[(_head + index) & (_items.Length - 1)];

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

    private void Resize(int capacity)
    {
        var items = capacity == 0 ? [] : new PendingMessage[capacity];
        for (var i = 0; i < _count; i++)
        {
            items[i] = At(i);
        }

        _items = items;
        _head = 0;
    }
}
