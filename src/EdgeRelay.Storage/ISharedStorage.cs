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
}
