using System.Text.Json.Serialization;

namespace EdgeRelay.Server.Admin;

/// <summary>
/// <c>GET /admin/stats</c>: the relay's state at a glance, read field by field (not one atomic snapshot).
/// </summary>
/// <param name="Version">The relay's version (as in edgerelay_build_info).</param>
/// <param name="StartedAt">When the relay started (UTC).</param>
/// <param name="UptimeSeconds">Seconds since then.</param>
/// <param name="Availability">accepting, degraded, draining (admin drain or shutdown), as STATUS reports it.</param>
/// <param name="Reason">Why the availability is not accepting; empty otherwise.</param>
/// <param name="Draining">Whether an operator drained the relay (new messages refused, delivery goes on).</param>
/// <param name="Roles">The roles this relay plays: receiving, sending.</param>
/// <param name="Connections">Relay protocol connections open now.</param>
/// <param name="Addresses">Addresses in the registry, revoked and expired included.</param>
/// <param name="QueueDepth">Messages stored and not yet acknowledged by their owners.</param>
/// <param name="PendingMessages">The same count as <paramref name="QueueDepth"/>, under the metric's name.</param>
/// <param name="PendingBytes">Their ciphertext bytes.</param>
/// <param name="OutboundMessages">SEND_VIA messages waiting to be forwarded.</param>
/// <param name="OutboundBytes">Their ciphertext bytes.</param>
/// <param name="LogBytes">Span of the message log on disk.</param>
/// <param name="DiskBudgetBytes">Storage:MaxDiskBytes; null when there is no budget.</param>
/// <param name="DiskHeadroomBytes">What the log may still grow before SENDs get QUOTA_SERVER; null when there is no budget.</param>
/// <param name="FilesystemFreeBytes">Free space of the data folder's file system; null when it cannot be read.</param>
public sealed record AdminStats(
    string Version,
    DateTimeOffset StartedAt,
    long UptimeSeconds,
    string Availability,
    string Reason,
    bool Draining,
    string[] Roles,
    int Connections,
    int Addresses,
    long QueueDepth,
    long PendingMessages,
    long PendingBytes,
    long OutboundMessages,
    long OutboundBytes,
    long LogBytes,
    long? DiskBudgetBytes,
    long? DiskHeadroomBytes,
    long? FilesystemFreeBytes);

/// <summary>
/// One address as <c>/admin/addresses</c> shows it: never its owner key, its notification endpoint (a capability
/// URL) or any ciphertext.
/// </summary>
/// <param name="Aid">The long-term address id, 32 hex digits.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="ExpiresAt">When it expires (SENDs are refused from then on).</param>
/// <param name="RevokedAt">When it was revoked; null while it is not.</param>
/// <param name="Expired">Whether the expiry has passed.</param>
/// <param name="PendingMessages">Messages waiting for the owner's acknowledgement.</param>
/// <param name="PendingBytes">Their ciphertext bytes.</param>
/// <param name="Policy">immediate, batched or pull-only.</param>
/// <param name="PolicyWindowMs">The batching window of the batched policy; null for the others.</param>
/// <param name="WakeUps">Whether the owner registered a wake-up endpoint (the endpoint itself is not shown).</param>
public sealed record AdminAddress(
    string Aid,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt,
    bool Expired,
    int PendingMessages,
    long PendingBytes,
    string Policy,
    uint? PolicyWindowMs,
    bool WakeUps);

/// <summary>A page of <c>GET /admin/addresses</c>, in address order.</summary>
/// <param name="Addresses">At most the limit asked for.</param>
/// <param name="NextAfter">The <c>after</c> of the next page; null when this page ends the listing.</param>
public sealed record AdminAddressPage(AdminAddress[] Addresses, string? NextAfter);

/// <summary>What <c>POST /admin/addresses/{aid}/revoke</c> or <c>/purge</c> did (durable before the reply).</summary>
/// <param name="Aid">The address.</param>
/// <param name="Outcome">revoked, already_revoked, or purged.</param>
/// <param name="PurgedMessages">Messages dropped by a purge; 0 for a revocation.</param>
/// <param name="PurgedBytes">Their ciphertext bytes.</param>
public sealed record AdminAddressChange(string Aid, string Outcome, long PurgedMessages, long PurgedBytes);

/// <summary>The answer of <c>POST /admin/drain</c> and <c>POST /admin/accept</c>.</summary>
/// <param name="Draining">Whether new messages are refused now.</param>
/// <param name="Availability">What STATUS reports now.</param>
public sealed record AdminDrainState(bool Draining, string Availability);

/// <summary>The answer of <c>POST /admin/reload</c>: what the reloaded configuration changed.</summary>
/// <param name="Applied">Options that changed and apply now.</param>
/// <param name="NeedRestart">Options that changed but apply only from the next start.</param>
/// <param name="Problems">Why nothing was applied (the configuration is invalid); empty when it was.</param>
public sealed record AdminReload(string[] Applied, string[] NeedRestart, string[] Problems);

/// <summary>The body of an admin refusal other than 401/404: a stable snake_case code and a sentence.</summary>
public sealed record AdminError(string Error, string Message);

/// <summary>The JSON of the admin API, snake_case, shared by the relay and <c>edgerelay admin</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(AdminStats))]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(AdminAddressPage))]
[JsonSerializable(typeof(AdminAddress))]
[JsonSerializable(typeof(AdminAddressChange))]
[JsonSerializable(typeof(AdminDrainState))]
[JsonSerializable(typeof(AdminReload))]
public sealed partial class AdminJson : JsonSerializerContext;
