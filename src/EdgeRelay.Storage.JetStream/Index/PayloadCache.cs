namespace EdgeRelay.Storage.JetStream.Index;

/// <summary>
/// The newest ciphertexts, as their records arrived from the stream, up to a byte budget: pushing a message
/// that just arrived (the common case) then reads memory, not the cluster. Oldest out first; an acknowledged
/// message leaves at once.
/// </summary>
/// <remarks>Guarded by the store's gate. Holds the whole record array (no copy): the ciphertext starts at <see cref="Records.MessageHeaderLength"/>.</remarks>
internal sealed class PayloadCache
{
    private readonly long _budget;
    private readonly Dictionary<long, byte[]> _records = [];
    private readonly Queue<long> _order = new();
    private long _bytes;

    public PayloadCache(long budget)
    {
        _budget = budget;
    }

    public void Add(MessageId id, byte[] record)
    {
        if (_budget == 0 || record.Length > _budget || !_records.TryAdd(id.Value, record))
        {
            return;
        }

        _order.Enqueue(id.Value);
        _bytes += record.Length;
        while (_bytes > _budget && _order.TryDequeue(out var oldest))
        {
            if (_records.Remove(oldest, out var evicted))
            {
                _bytes -= evicted.Length;
            }
        }

        // Ids acknowledged before they were evicted stay in the order queue; bound it so they cannot pile up.
        if (_order.Count > (_records.Count * 2) + 1024)
        {
            var live = _order.Where(_records.ContainsKey).ToArray();
            _order.Clear();
            foreach (var id2 in live)
            {
                _order.Enqueue(id2);
            }
        }
    }

    public bool TryGet(MessageId id, out byte[] record) => _records.TryGetValue(id.Value, out record!);

    public void Remove(MessageId id)
    {
        if (_records.Remove(id.Value, out var record))
        {
            _bytes -= record.Length;
        }
    }
}
