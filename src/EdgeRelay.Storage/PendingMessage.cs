namespace EdgeRelay.Storage;

/// <summary>
/// One un-acked message of an address, as kept in the in-memory index (24 bytes, no payload).
/// </summary>
/// <param name="Id">The message id: the log address of its record. Unique, increasing, stable across restarts.</param>
/// <param name="Length">Ciphertext length in bytes.</param>
/// <param name="ReceivedAtUnixMs">When the store accepted it (unix milliseconds, from the store's <see cref="TimeProvider"/>).</param>
public readonly record struct PendingMessage(long Id, int Length, long ReceivedAtUnixMs);
