namespace EdgeRelay.Storage;

// The relay maps each of these to a stable wire error code, so the numeric values are part of
// the contract: append new members at the end, never renumber.

/// <summary>Outcome of <see cref="RelayStore.TryAppendMessage"/> and <see cref="RelayStore.AppendMessageAsync"/>.</summary>
public enum AppendStatus
{
    /// <summary>The message is in the log; it is durable (and deliverable) once a commit covers its id.</summary>
    Appended = 0,

    /// <summary>No address with that id was ever created here.</summary>
    UnknownAddress = 1,

    /// <summary>The owner revoked the address; it accepts nothing new.</summary>
    Revoked = 2,

    /// <summary>The address' expiry (unix seconds) is at or before now.</summary>
    Expired = 3,

    /// <summary>The ciphertext is longer than <see cref="RelayStoreOptions.MaxPayloadBytes"/>.</summary>
    PayloadTooLarge = 4,

    /// <summary>
    /// The log's memory buffer is full until the next commit frees it. Only the synchronous
    /// <see cref="RelayStore.TryAppendMessage"/> returns this; retry with
    /// <see cref="RelayStore.AppendMessageAsync"/>, which waits for the commit instead of spinning.
    /// </summary>
    Backpressure = 5,

    /// <summary>The address holds <see cref="RelayStoreOptions.MaxPendingMessagesPerAddress"/> messages or would pass its byte quota.</summary>
    QuotaAddress = 6,

    /// <summary>The log would pass the global disk budget (<see cref="RelayStoreOptions.MaxLogBytes"/>).</summary>
    QuotaServer = 7,
}

/// <summary>Outcome of the owner's address changes: <see cref="RelayStore.Renew"/>, <see cref="RelayStore.SetPolicy"/>, <see cref="RelayStore.SetNotifyEndpoint"/>.</summary>
public enum AddressUpdateStatus
{
    Updated = 0,
    UnknownAddress = 1,

    /// <summary>Renewal only: a revoked address stays revoked.</summary>
    Revoked = 2,

    /// <summary>Renewal only: an address that already expired cannot be revived; create a new one.</summary>
    Expired = 3,
}

/// <summary>Outcome of <see cref="RelayStore.Revoke"/>.</summary>
public enum RevokeStatus
{
    Revoked = 0,
    UnknownAddress = 1,
    AlreadyRevoked = 2,
}

/// <summary>Outcome of <see cref="RelayStore.Ack"/>.</summary>
public enum AckStatus
{
    /// <summary>Every id was a pending message of the address; they are gone from the index.</summary>
    Acked = 0,

    /// <summary>
    /// At least one id is not a committed, pending message of this address (never existed, not yet
    /// committed, already acked, or another address' message). Nothing changed.
    /// </summary>
    UnknownMessage = 1,

    UnknownAddress = 2,
}
