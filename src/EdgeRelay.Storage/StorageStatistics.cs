namespace EdgeRelay.Storage;

/// <summary>A point-in-time view of a store for metrics; the fields are read one by one, not atomically together.</summary>
/// <param name="Addresses">Addresses in the registry (revoked and expired included).</param>
/// <param name="PendingMessages">Appended, unacknowledged messages (durable or not).</param>
/// <param name="PendingBytes">Sum of their ciphertext lengths.</param>
/// <param name="Flushes">Flushes (group commits) performed since the store was opened.</param>
/// <param name="MessagesExpired">Messages dropped by the message TTL since the store was opened.</param>
/// <param name="MessagesMoved">Messages the store copied forward to reclaim space (compaction) since it was opened.</param>
/// <param name="MemoryReads">Message reads served from memory since the store was opened.</param>
/// <param name="DeviceReads">Message reads that went to the device (or the engine) since the store was opened.</param>
/// <param name="LogBeginAddress">For a log-structured backend: the first position still kept; 0 otherwise.</param>
/// <param name="LogTailAddress">For a log-structured backend: where the next record goes; 0 otherwise.</param>
/// <param name="LogDurableAddress">For a log-structured backend: every record below it is durable; 0 otherwise.</param>
public readonly record struct StorageStatistics(
    int Addresses,
    long PendingMessages,
    long PendingBytes,
    long Flushes,
    long MessagesExpired,
    long MessagesMoved,
    long MemoryReads,
    long DeviceReads,
    long LogBeginAddress,
    long LogTailAddress,
    long LogDurableAddress);
