using EdgeRelay.Protocol;

namespace EdgeRelay.RelationshipManager;

/// <summary>What a relay is to us: where our addresses are issued, where our messages leave, or both.</summary>
[Flags]
public enum ServiceUse
{
    None = 0,

    /// <summary>Issues our addresses; we collect what arrives on them.</summary>
    Receiving = 1,

    /// <summary>Forwards our messages (SEND_VIA) with the RM token we hold for it.</summary>
    Sending = 2,
}

/// <summary>Where a service stands in its life with us.</summary>
public enum ServiceState
{
    /// <summary>In use for everything its roles allow.</summary>
    Active = 0,

    /// <summary>Sunset: no new address there, relationships moved elsewhere, still collected until <see cref="ServiceInfo.CollectUntil"/>.</summary>
    Sunsetting = 1,

    /// <summary>Sunset, and every address handed out there has expired: nothing more can arrive, it can be removed.</summary>
    ReadyToDrop = 2,
}

/// <summary>One of our services, with what this process last learned of it.</summary>
/// <param name="Endpoint">host:port, as given when it was added.</param>
/// <param name="Use">Its roles for us.</param>
/// <param name="HasToken">Whether we hold an RM token for it (needed to send through it).</param>
/// <param name="SendingMode">The mode asked when sending through it; batched falls back to immediate when the service stops offering it.</param>
/// <param name="State">Active, sunsetting, or ready to drop.</param>
/// <param name="SunsetAt">When it was sunset, if it was.</param>
/// <param name="CollectUntil">When the last address handed out there expires: what may arrive there arrives before then.</param>
/// <param name="Addresses">Our addresses there that may still receive (handed out, unexpired).</param>
/// <param name="Status">Its last STATUS (or CONFIG): availability, limits and sending options; null if it was never reached.</param>
/// <param name="LastError">Why the last attempt to use it failed, if it did and has not worked since.</param>
public sealed record ServiceInfo(
    string Endpoint,
    ServiceUse Use,
    bool HasToken,
    SendingMode SendingMode,
    ServiceState State,
    DateTimeOffset? SunsetAt,
    DateTimeOffset? CollectUntil,
    int Addresses,
    RelayStatus? Status,
    string? LastError)
{
    /// <summary>
    /// The service's other nodes, as its newest card of ours or its last HELLO names them (its alternative
    /// endpoints): where connections go, in this order, while <see cref="Endpoint"/> cannot be reached. Empty for a
    /// service on one node.
    /// </summary>
    public IReadOnlyList<string> OtherEndpoints { get; init; } = [];
}
