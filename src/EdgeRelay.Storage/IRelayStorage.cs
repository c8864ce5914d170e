namespace EdgeRelay.Storage;

/// <summary>
/// Everything a relay stores, as one object: the registry, the queue, and the durability of both (one
/// ticket order covers address records and messages, so a card handed out after its address record was
/// durable never names an address a crash could lose).
/// </summary>
/// <remarks>
/// Thread-safe; one instance is shared by every connection of a relay. <see cref="IAsyncDisposable.DisposeAsync"/>
/// stops accepting operations, waits for those in flight, makes everything written durable and releases
/// the store; writes that were never made durable were never promised.
/// </remarks>
public interface IRelayStorage : IAddressRegistry, IMessageQueue, IAddressAdministration, IDurability, IAsyncDisposable
{
    /// <summary>A point-in-time reading for metrics. Throws <see cref="ObjectDisposedException"/> once closed.</summary>
    StorageStatistics GetStatistics();

    /// <summary>Receives each flush's duration in seconds (a metrics histogram). Called on the store's own thread: keep it cheap.</summary>
    Action<double>? FlushObserver { get; set; }
}
