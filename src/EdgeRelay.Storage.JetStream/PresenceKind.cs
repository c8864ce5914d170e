namespace EdgeRelay.Storage.JetStream;

/// <summary>What a presence record says; its first byte. Stored: never renumber (apart from <see cref="RecordKind"/>'s range).</summary>
internal enum PresenceKind : byte
{
    /// <summary>A node is live at a time of its clock (0: it left).</summary>
    Beat = 16,

    /// <summary>The writer holds an address' push lease.</summary>
    Lease = 17,

    /// <summary>No node holds an address' push lease.</summary>
    Release = 18,

    /// <summary>The writer woke an address' owner at a time of its clock.</summary>
    Wake = 19,

    /// <summary>The owner was back since the last wake-up.</summary>
    WakeClear = 20,

    /// <summary>The writer holds an address' push lease, taken for a newer subscriber (from a live holder, maybe).</summary>
    TakeOver = 21,

    /// <summary>The writer forwards the outbound messages a dead node queued (the node's id in the address field).</summary>
    Dispatch = 22,
}
