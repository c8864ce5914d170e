namespace EdgeRelay.Storage.Faster;

/// <summary>The operator's view of the store (<see cref="IAddressAdministration"/>): listings and purges.</summary>
public sealed partial class FasterStorage
{
    public int ListAddresses(AddressId after, Span<AddressListing> destination)
    {
        _gate.ThrowIfClosed();
        if (destination.IsEmpty)
        {
            return 0;
        }

        // The index is a hash table: a page sorts the ids after the cursor. A bounded max-heap keeps only the
        // page's worth, so a page costs one pass over the registry and no copy of it.
        var order = AddressOrder.Instance;
        var page = new PriorityQueue<AddressEntry, AddressId>(destination.Length + 1, Comparer<AddressId>.Create((x, y) => order.Compare(y, x)));
        foreach (var pair in _registry.Entries)
        {
            if (order.Compare(pair.Key, after) <= 0)
            {
                continue;
            }

            if (page.Count < destination.Length)
            {
                page.Enqueue(pair.Value, pair.Key);
            }
            else if (page.TryPeek(out _, out var largest) && order.Compare(pair.Key, largest) < 0)
            {
                page.EnqueueDequeue(pair.Value, pair.Key);
            }
        }

        var count = page.Count;
        for (var i = count - 1; i >= 0; i--)
        {
            destination[i] = Listing(page.Dequeue());
        }

        return count;
    }

    public bool TryGetListing(AddressId aid, out AddressListing listing)
    {
        _gate.ThrowIfClosed();
        if (_registry.TryGetEntry(aid, out var entry))
        {
            listing = Listing(entry);
            return true;
        }

        listing = default;
        return false;
    }

    public async ValueTask<PurgeResult> PurgeAsync(AddressId aid, CancellationToken ct = default)
    {
        _gate.Enter();
        try
        {
            return await _removal.PurgeAsync(aid, _gate, ct);
        }
        finally
        {
            _gate.Exit();
        }
    }

    private static AddressListing Listing(AddressEntry entry)
    {
        // Under the gate: the count and the bytes of one moment, not of two.
        lock (entry.Gate)
        {
            return new AddressListing(entry.Info, entry.Pending.Count, entry.Pending.Bytes);
        }
    }
}
