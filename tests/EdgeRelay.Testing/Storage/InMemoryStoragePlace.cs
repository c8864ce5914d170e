namespace EdgeRelay.Testing.Storage;

/// <summary>
/// What survives a crash of an <see cref="InMemoryStorage"/>: the durable prefix of its log. Every storage
/// opened on one place replays it; a storage abandoned without a flush leaves only what it had flushed.
/// </summary>
public sealed class InMemoryStoragePlace
{
    private readonly List<InMemoryRecord> _durable = [];
    private readonly Lock _lock = new();

    /// <summary>Records that survived so far (their positions are their index + 1).</summary>
    public int DurableRecords
    {
        get
        {
            lock (_lock)
            {
                return _durable.Count;
            }
        }
    }

    internal InMemoryRecord[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _durable];
        }
    }

    /// <summary>Makes the log durable up to <paramref name="log"/>'s first <paramref name="count"/> records (the ones after what is already durable are added).</summary>
    internal void MakeDurable(List<InMemoryRecord> log, int count)
    {
        lock (_lock)
        {
            for (var i = _durable.Count; i < count; i++)
            {
                _durable.Add(log[i]);
            }
        }
    }
}
