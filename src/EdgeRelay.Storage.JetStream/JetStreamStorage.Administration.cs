namespace EdgeRelay.Storage.JetStream;

// What an operator's tools need: listings in address order and dropping a backlog.
public sealed partial class JetStreamStorage
{
    public int ListAddresses(AddressId after, Span<AddressListing> destination)
    {
        ThrowIfDisposed();
        if (destination.IsEmpty)
        {
            return 0;
        }

        // One pass keeping the page's worth of the smallest ids after the cursor: a page costs a pass over the
        // registry, not a sort of it.
        var page = new SortedSet<AddressId>(AddressOrder.Instance);
        var order = AddressOrder.Instance;
        var first = after.IsEmpty;
        lock (_gate)
        {
            foreach (var (aid, entry) in _entries)
            {
                if (entry.Info is null || (!first && order.Compare(aid, after) <= 0))
                {
                    continue;
                }

                if (page.Count < destination.Length)
                {
                    page.Add(aid);
                }
                else if (order.Compare(aid, page.Max) < 0)
                {
                    page.Remove(page.Max);
                    page.Add(aid);
                }
            }

            var n = 0;
            foreach (var aid in page)
            {
                var entry = _entries[aid];
                destination[n++] = Listing(entry);
            }

            return n;
        }
    }

    public bool TryGetListing(AddressId aid, out AddressListing listing)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            if (_entries.TryGetValue(aid, out var entry) && entry.Info is not null)
            {
                listing = Listing(entry);
                return true;
            }

            listing = default;
            return false;
        }
    }

    /// <summary>The backlog counts what this node appended and has not seen come back yet, as the contract's "durable or not" asks.</summary>
    private static AddressListing Listing(Index.AddressEntry entry) =>
        new(entry.Info!, entry.PendingCount + entry.ReservedCount, entry.PendingBytes + entry.ReservedBytes);

    public ValueTask<PurgeResult> PurgeAsync(AddressId aid, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            if (!_entries.TryGetValue(aid, out var entry) || entry.Info is null)
            {
                return new(new PurgeResult(PurgeStatus.UnknownAddress, 0, 0, DurabilityTicket.None));
            }

            var upTo = entry.Pending?.Last() ?? MessageId.None;
            if (upTo == MessageId.None)
            {
                return new(new PurgeResult(PurgeStatus.Purged, 0, 0, DurabilityTicket.None));
            }

            _removed.Clear();
            RemoveWhereLocked(entry, upTo, static (upTo, m) => m.Id <= upTo, _removed);
            var bytes = _removed.Sum(m => (long)m.Length);
            var ticket = _publisher.Enqueue(_options.MessageStream(entry.Partition), _options.MessageSubject(entry.Partition), Records.Purge(_writer, aid, upTo));
            return new(new PurgeResult(PurgeStatus.Purged, _removed.Count, bytes, ticket));
        }
    }
}
