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
    /// This node's registry writes whose round has not completed. While there are some, the entry shows this
    /// node's own newest state, and another node's records for it are held back (<see cref="HeldBack"/>): the
    /// stream keeps one record per address, so which one is newest is known only once this node's own records
    /// have their sequences.
    /// </summary>
    public int WritesInFlight { get; set; }

    /// <summary>The newest of another node's records that arrived while this node's writes were in flight, with its sequence.</summary>
    public (ulong Seq, AddressInfo Info)? HeldBack { get; set; }

    /// <summary>The sequence of this node's newest registry record for the address.</summary>
    public ulong OwnSeq { get; set; }

    public int PendingCount => Pending?.Count ?? 0;

    public long PendingBytes => Pending?.Bytes ?? 0;
}
