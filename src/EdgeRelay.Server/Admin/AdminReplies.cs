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

/// <summary>The body of an admin refusal other than 401/404: a stable snake_case code and a sentence.</summary>
public sealed record AdminError(string Error, string Message);

/// <summary>The JSON of the admin API, snake_case, shared by the relay and <c>edgerelay admin</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(AdminStats))]
[JsonSerializable(typeof(AdminError))]
public sealed partial class AdminJson : JsonSerializerContext;
