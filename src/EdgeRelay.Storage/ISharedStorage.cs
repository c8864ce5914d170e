namespace EdgeRelay.Storage;

/// <summary>
/// A store that several relay nodes share: messages another node accepted become durable (and listed) here with
/// no SEND on this node, so this node learns of them from the store, to push them to its own subscribers.
/// </summary>
public interface ISharedStorage
{
    /// <summary>
    /// Called with the address of each message another node appended, once it is durable and listed here. Called
    /// on the store's own thread, in stream order: keep it cheap (a push pump's wake-up).
    /// </summary>
    Action<AddressId>? RemoteArrival { get; set; }

    /// <summary>What this node sees of the shared store, for its metrics; cheap, and read at scrape time.</summary>
    SharedStorageStatistics GetSharedStatistics();
}

/// <summary>A node's view of a store several nodes share; the fields are read one by one, not atomically together.</summary>
/// <param name="RecordsApplied">Records this node applied from the shared streams since it opened (its own and the others').</param>
/// <param name="RecordsBehind">Records the engine holds that this node has not applied yet, as the engine last said: how far its index lags.</param>
/// <param name="RemoteArrivals">Messages other nodes accepted that this node learnt of, since it opened.</param>
/// <param name="PublishRetries">Writes retried after no answer or no leader (an election, a lost server), since it opened.</param>
/// <param name="LeasesHeld">Addresses this node pushes now (it holds their push lease).</param>
/// <param name="LeaseHandOvers">Push leases this node took over from a node that had died (or left), since it opened.</param>
/// <param name="WakeClaimsLost">Wake-ups this node did not send because another node had claimed the burst, since it opened.</param>
/// <param name="LeaseTakeOvers">Push leases this node took from a live node because the owner subscribed here after subscribing there, since it opened.</param>
public readonly record struct SharedStorageStatistics(
    long RecordsApplied,
    long RecordsBehind,
    long RemoteArrivals,
    long PublishRetries,
    int LeasesHeld = 0,
    long LeaseHandOvers = 0,
    long WakeClaimsLost = 0,
    long LeaseTakeOvers = 0);
