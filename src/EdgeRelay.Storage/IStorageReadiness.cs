namespace EdgeRelay.Storage;

/// <summary>
/// A store whose engine runs elsewhere (a cluster reached over the network) and can be away for a while without
/// having failed: the relay then reports itself not ready, so that a load balancer sends connections to another
/// node, while everything the store promised stays promised.
/// </summary>
public interface IStorageReadiness
{
    /// <summary>Why the store cannot serve right now (e.g. "NATS connection reconnecting"), or null when it can.</summary>
    string? NotReadyReason { get; }
}
