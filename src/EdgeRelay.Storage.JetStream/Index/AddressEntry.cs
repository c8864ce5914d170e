namespace EdgeRelay.Storage.JetStream.Index;

/// <summary>What a node knows of one address: its registry entry (null until its record arrives) and its backlog.</summary>
/// <remarks>Guarded by the store's gate.</remarks>
internal sealed class AddressEntry
{
    public AddressEntry(AddressId id, int partition)
    {
        Id = id;
        Partition = partition;
    }

    public AddressId Id { get; }

    /// <summary>The message stream this address' messages, acks and purges go to.</summary>
    public int Partition { get; }

    public AddressInfo? Info { get; set; }

    /// <summary>Durable, unacknowledged messages; null while there has never been one (most addresses are idle).</summary>
    public PendingList? Pending { get; set; }

    /// <summary>This node's appends not yet back from the stream: counted against the quotas before they are listed.</summary>
    public int ReservedCount { get; set; }

    public long ReservedBytes { get; set; }

    /// <summary>
    /// This node's registry writes not yet back from the stream. While there are some, the entry shows this node's
    /// own newest state, and records from the stream (older ones of its own, or another node's) wait for the last
    /// of them, which carries the whole entry as this node last wrote it.
    /// </summary>
    public int LocalWrites { get; set; }

    public int PendingCount => Pending?.Count ?? 0;

    public long PendingBytes => Pending?.Bytes ?? 0;
}
