namespace EdgeRelay.Storage.JetStream.Index;

/// <summary>
/// One address' pending messages in id order (the order its stream delivered them), as a ring-free array with
/// a moving head: an owner acks mostly from the front, so removal marks an entry gone (a tombstone) and the
/// head skips leading tombstones; the array is compacted when half of it is tombstones.
/// </summary>
/// <remarks>Not thread-safe: the store's gate guards it.</remarks>
internal sealed class PendingList
{
    private PendingMessage[] _items = new PendingMessage[4];
    private int _head;
    private int _tail;

    public int Count { get; private set; }

    public long Bytes { get; private set; }

    /// <summary>Appends a message whose id is larger than every id before it (its stream's order).</summary>
    public void Add(in PendingMessage message)
    {
        if (_tail > _head && _items[_tail - 1].Id >= message.Id)
        {
            throw new InvalidOperationException($"Message {message.Id} arrived after {_items[_tail - 1].Id}: a stream delivers in order.");
        }

        if (_tail == _items.Length)
        {
            Compact(grow: true);
        }

        _items[_tail++] = message;
        Count++;
        Bytes += message.Length;
    }

    /// <summary>True when <paramref name="id"/> is pending here.</summary>
    public bool Contains(MessageId id) => IndexOf(id) >= 0;

    /// <summary>Removes <paramref name="id"/>; its length, or -1 when it was not pending.</summary>
    public int Remove(MessageId id)
    {
        var i = IndexOf(id);
        if (i < 0)
        {
            return -1;
        }

        var length = _items[i].Length;
        _items[i] = Tombstone(_items[i]);
        Count--;
        Bytes -= length;
        Trim();
        return length;
    }

    /// <summary>Removes every message matching <paramref name="drop"/>; their ids go to <paramref name="removed"/>.</summary>
    public void RemoveWhere<TState>(TState state, Func<TState, PendingMessage, bool> drop, List<PendingMessage>? removed)
    {
        for (var i = _head; i < _tail; i++)
        {
            var item = _items[i];
            if (item.Length >= 0 && drop(state, item))
            {
                removed?.Add(item);
                _items[i] = Tombstone(item);
                Count--;
                Bytes -= item.Length;
            }
        }

        Trim();
    }

    /// <summary>Copies the pending messages with an id after <paramref name="after"/>, oldest first; returns how many.</summary>
    public int CopyAfter(MessageId after, Span<PendingMessage> destination)
    {
        var i = FirstAfter(after);
        var n = 0;
        for (; i < _tail && n < destination.Length; i++)
        {
            if (_items[i].Length >= 0)
            {
                destination[n++] = _items[i];
            }
        }

        return n;
    }

    /// <summary>The newest pending id, or <see cref="MessageId.None"/>.</summary>
    public MessageId Last()
    {
        for (var i = _tail - 1; i >= _head; i--)
        {
            if (_items[i].Length >= 0)
            {
                return _items[i].Id;
            }
        }

        return MessageId.None;
    }

    // A tombstone keeps its id (the array stays sorted for the binary search) with a negative length.
    private static PendingMessage Tombstone(in PendingMessage item) => new(item.Id, -1, item.ReceivedAtUnixMs);

    private int IndexOf(MessageId id)
    {
        var i = FirstAfter(new MessageId(id.Value - 1));
        return i < _tail && _items[i].Id == id && _items[i].Length >= 0 ? i : -1;
    }

    /// <summary>The index of the first entry (live or not) with an id after <paramref name="after"/>.</summary>
    private int FirstAfter(MessageId after)
    {
        int lo = _head, hi = _tail;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (_items[mid].Id <= after)
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

    private void Trim()
    {
        while (_head < _tail && _items[_head].Length < 0)
        {
            _head++;
        }

        while (_tail > _head && _items[_tail - 1].Length < 0)
        {
            _tail--;
        }

        if (_head == _tail)
        {
            _head = _tail = 0;
        }
        else if ((_tail - _head) - Count > Count && _tail - _head > 64)
        {
            Compact(grow: false);
        }
    }

    private void Compact(bool grow)
    {
        var size = grow && Count * 2 > _items.Length ? _items.Length * 2 : _items.Length;
        var items = size == _items.Length && !grow ? _items : new PendingMessage[Math.Max(4, size)];
        var n = 0;
        for (var i = _head; i < _tail; i++)
        {
            if (_items[i].Length >= 0)
            {
                items[n++] = _items[i];
            }
        }

        if (ReferenceEquals(items, _items))
        {
            Array.Clear(_items, n, _tail - n);
        }

        _items = items;
        _head = 0;
        _tail = n;
    }
}
