namespace EdgeRelay.Storage;

// The relay maps each of these to a stable wire error code, so the numeric values are part of
// the contract: append new members at the end, never renumber.

/// <summary>Outcome of <see cref="IMessageQueue.TryAppend"/> and <see cref="IMessageQueue.AppendAsync"/>.</summary>
public enum AppendStatus
{
    /// <summary>The message is stored; it is durable (and deliverable) once its ticket is.</summary>
    Appended = 0,

    /// <summary>No address with that id was ever created here.</summary>
    UnknownAddress = 1,

    /// <summary>The owner revoked the address; it accepts nothing new.</summary>
    Revoked = 2,

    /// <summary>The address' expiry (unix seconds) is at or before now.</summary>
    Expired = 3,

    /// <summary>The ciphertext is longer than <see cref="IMessageQueue.MaxPayloadBytes"/>.</summary>
    PayloadTooLarge = 4,

    /// <summary>
    /// The store cannot take the message without waiting (a FASTER log's memory buffer is full until the
    /// next commit frees it). Only the synchronous <see cref="IMessageQueue.TryAppend"/> returns this; retry
    /// with <see cref="IMessageQueue.AppendAsync"/>, which waits instead of spinning.
    /// </summary>
    Backpressure = 5,

    /// <summary>The address holds <see cref="StorageLimits.MaxPendingMessagesPerAddress"/> messages or would pass <see cref="StorageLimits.MaxPendingBytesPerAddress"/>.</summary>
    QuotaAddress = 6,

    /// <summary>The store would pass its global budget (the FASTER backend: its disk budget).</summary>
    QuotaServer = 7,
}

/// <summary>Outcome of the owner's address changes: <see cref="IAddressRegistry.RenewAsync"/>, <see cref="IAddressRegistry.SetPolicyAsync"/>, <see cref="IAddressRegistry.SetNotifyEndpointAsync"/>.</summary>
public enum AddressUpdateStatus
{
    Updated = 0,
    UnknownAddress = 1,

    /// <summary>Renewal only: a revoked address stays revoked.</summary>
    Revoked = 2,

    /// <summary>Renewal only: an address that already expired cannot be revived; create a new one.</summary>
    Expired = 3,
}

/// <summary>Outcome of <see cref="IAddressRegistry.RevokeAsync"/>.</summary>
public enum RevokeStatus
{
    Revoked = 0,
    UnknownAddress = 1,
    AlreadyRevoked = 2,
}

/// <summary>Outcome of <see cref="IMessageQueue.AckAsync"/>.</summary>
public enum AckStatus
{
    /// <summary>Every id was a pending message of the address; they are gone from the index.</summary>
    Acked = 0,

    /// <summary>
    /// At least one id is not a durable, pending message of this address (never existed, not yet
    /// durable, already acked, or another address' message). Nothing changed.
    /// </summary>
    UnknownMessage = 1,

    UnknownAddress = 2,
}
