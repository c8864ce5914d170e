namespace EdgeRelay.Storage;

/// <summary>A point-in-time view of the store for metrics; the fields are read one by one, not atomically together.</summary>
/// <param name="Addresses">Addresses in the registry (revoked and expired included).</param>
/// <param name="PendingMessages">Appended, un-acked messages (committed or not).</param>
/// <param name="PendingBytes">Sum of their ciphertext lengths.</param>
/// <param name="BeginAddress">First log address still kept (moves forward on truncation).</param>
/// <param name="TailAddress">Where the next record will be written.</param>
/// <param name="CommittedUntilAddress">Every record below this address is durable.</param>
/// <param name="Commits">Log commits performed by this instance since it was opened.</param>
/// <param name="MessagesExpired">Messages the retention sweep dropped (TTL) since the store was opened.</param>
/// <param name="MessagesMoved">Messages compaction copied forward since the store was opened.</param>
/// <param name="MemoryReads">Message reads served by the in-memory mirror of recent records since the store was opened.</param>
/// <param name="DeviceReads">Message reads that went to the device since the store was opened.</param>
public readonly record struct StoreStatistics(
    int Addresses,
    long PendingMessages,
    long PendingBytes,
    long BeginAddress,
    long TailAddress,
    long CommittedUntilAddress,
    long Commits,
    long MessagesExpired,
    long MessagesMoved,
    long MemoryReads,
    long DeviceReads);
