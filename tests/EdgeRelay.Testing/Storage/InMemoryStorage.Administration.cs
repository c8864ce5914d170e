using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Storage;

/// <summary>The operator's view (<see cref="IAddressAdministration"/>): listings, and purges written as acknowledgements.</summary>
public sealed partial class InMemoryStorage
{
    public int ListAddresses(AddressId after, Span<AddressListing> destination)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            var page = _entries
                .Where(e => AddressOrder.Instance.Compare(e.Key, after) > 0)
                .OrderBy(e => e.Key, AddressOrder.Instance)
                .Take(destination.Length)
                .Select(e => Listing(e.Value))
                .ToArray();
            page.CopyTo(destination);
            return page.Length;
        }
    }

    public bool TryGetListing(AddressId aid, out AddressListing listing)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            listing = _entries.TryGetValue(aid, out var entry) ? Listing(entry) : default;
            return entry is not null;
        }
    }

    public ValueTask<PurgeResult> PurgeAsync(AddressId aid, CancellationToken ct = default)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (!_entries.TryGetValue(aid, out var entry))
            {
                return new(new PurgeResult(PurgeStatus.UnknownAddress, 0, 0, DurabilityTicket.None));
            }

            if (entry.Pending.Count == 0)
            {
                return new(new PurgeResult(PurgeStatus.Purged, 0, 0, DurabilityTicket.None));
            }

            var ids = entry.Pending.Select(m => m.Id).ToArray();
            var (messages, bytes) = (ids.Length, entry.PendingBytes);
            return new(new PurgeResult(PurgeStatus.Purged, messages, bytes, Write(new InMemoryRecord.Removed(aid, ids, Expired: false))));
        }
    }

    private static AddressListing Listing(Entry entry) => new(entry.Info, entry.Pending.Count, entry.PendingBytes);
}
