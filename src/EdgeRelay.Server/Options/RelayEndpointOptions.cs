using System.Globalization;
using System.Net;

namespace EdgeRelay.Server;

/// <summary>The binary protocol endpoint (section "Relay").</summary>
public sealed partial class RelayEndpointOptions
{
    /// <summary>Where the relay listens. Default 127.0.0.1:7400: loopback until an operator decides otherwise.</summary>
    public string Endpoint { get; set; } = "127.0.0.1:7400";

    /// <summary>
    /// The "host:port" written into the address cards this relay issues, i.e. where senders reach it.
    /// Default: the listening endpoint, which is only right when senders share its network.
    /// </summary>
    public string? PublicEndpoint { get; set; }

    /// <summary>
    /// The service key file (32 raw bytes, owner-only), created there if missing. Default: <c>service.key</c> in the
    /// data folder. Every node of a service that runs on several nodes names the same key (a secret the operator
    /// distributes): any node must open any ephemeral address.
    /// </summary>
    public string? ServiceKeyFile { get; set; }

    /// <summary>Largest ciphertext accepted by SEND. Default 16384 (16 KiB), the agreed protocol size of DESIGN.md.</summary>
    public int MaxCiphertextBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Requests one connection may have unanswered before the relay stops reading from it. Default 1024:
    /// enough to cover a group commit at full speed, small enough that 10,000 connections hold at most ~160 MiB of replies.
    /// </summary>
    public int MaxInFlightPerConnection { get; set; } = 1024;

    /// <summary>Largest MESSAGES reply body. Default 1 MiB: about 64 full-size ciphertexts per PULL round trip.</summary>
    public int MaxReplyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages one PULL returns. Default 256.</summary>
    public int MaxPullCount { get; set; } = 256;

    /// <summary>A connection that sends no frame for this long is closed (clients PING to stay). Default 120 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>A connection must complete HELLO within this time. Default 10 s: half-open probes do not hold sockets.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Lifetime of an address created without one. Default 30 days.</summary>
    public TimeSpan DefaultAddressLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Longest lifetime an RM may ask for. Default 365 days: addresses must rotate so that services can be sunset.</summary>
    public TimeSpan MaxAddressLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>
    /// Entries of the ephemeral-address resolution cache (power of two). Default 262144 (~30 MB, 113 B a
    /// slot): the kept ephemeral addresses of 100,000 busy senders fit with room to spare, where 65536 made
    /// every SEND of such a load a miss (an HPKE open, and RATE_LIMITED past the budget).
    /// </summary>
    public int ResolutionCacheCapacity { get; set; } = 262144;

    /// <summary>HPKE opens (cache misses) one anonymous connection may cause per second. Default 200: a flood of random addresses costs at most ~1% of a core per connection.</summary>
    public int ResolveMissesPerSecond { get; set; } = 200;

    /// <summary>Burst of cache misses allowed above the rate, per anonymous connection. Default 100.</summary>
    public int ResolveMissBurst { get; set; } = 100;

    /// <summary>
    /// Cache misses per second of one connection authenticated with a peer token. Default 20000 (about 80%
    /// of a core): a sending service forwards fresh addresses for many users over a few connections.
    /// </summary>
    public int PeerResolveMissesPerSecond { get; set; } = 20_000;

    /// <summary>Burst of a peer connection's misses. Default 5000: a backlog queued while the link was down drains at once.</summary>
    public int PeerResolveMissBurst { get; set; } = 5_000;

    /// <summary>
    /// Cache misses per second of all anonymous connections together. Default 5000 (about 20% of a core):
    /// the CPU a flood of random addresses can take, however many connections it opens.
    /// </summary>
    public int AnonymousResolveMissesPerSecond { get; set; } = 5_000;

    /// <summary>Burst of all anonymous connections' misses together. Default 1000.</summary>
    public int AnonymousResolveMissBurst { get; set; } = 1_000;

    /// <summary>Threads that open addresses (HPKE). Default 0: one per core.</summary>
    public int ResolveWorkers { get; set; }

    /// <summary>
    /// Anonymous misses admitted and not yet resolved, server-wide; past it a miss is refused with RATE_LIMITED
    /// at once. Default 4096: at most ~160 ms of one core's opens wait.
    /// </summary>
    public int ResolveQueueCapacity { get; set; } = 4096;

    /// <summary>
    /// Most messages a push subscriber may have granted and not yet received. Default 1024: with 16 KiB
    /// ciphertexts, at most 16 MiB buffered for a subscriber that stops reading its socket.
    /// </summary>
    public int MaxPushCredit { get; set; } = 1024;

    /// <summary>Longest window an owner may set for the batched delivery policy. Default 1 hour.</summary>
    public TimeSpan MaxBatchWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a graceful shutdown waits for connections to finish their in-flight commits. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    private static bool IsWildcard(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = (colon > 0 ? endpoint[..colon] : endpoint).Trim('[', ']');
        return host is "0.0.0.0" or "::" or "*" or "+";
    }

    internal void Validate(List<string> problems)
    {
        EdgeRelayOptions.CheckEndpoint("Relay:Endpoint", Endpoint, problems);
        if (PublicEndpoint is { Length: 0 or > 255 })
        {
            problems.Add("Relay:PublicEndpoint: must be 1 to 255 characters (host:port) when set.");
        }
        else if (PublicEndpoint is null && IsWildcard(Endpoint))
        {
            // Every card would name this address, which no one elsewhere can reach, for the card's whole life.
            problems.Add($"Relay:PublicEndpoint: required when Relay:Endpoint ({Endpoint}) listens on every interface: set it to the host:port senders reach this relay at, which the address cards name.");
        }

        ValidateAlternativeEndpoints(problems);
        Range(problems, "Relay:MaxCiphertextBytes", MaxCiphertextBytes, 1, 1024 * 1024);
        Range(problems, "Relay:MaxInFlightPerConnection", MaxInFlightPerConnection, 1, 65536);
        Range(problems, "Relay:MaxReplyBytes", MaxReplyBytes, 64 * 1024, 64 * 1024 * 1024);
        if (MaxReplyBytes < MaxCiphertextBytes + 64)
        {
            problems.Add("Relay:MaxReplyBytes: must hold at least one full-size ciphertext (MaxCiphertextBytes + 64).");
        }

        Range(problems, "Relay:MaxPullCount", MaxPullCount, 1, Protocol.ProtocolLimits.MaxPullCount);
        Positive(problems, "Relay:IdleTimeout", IdleTimeout);
        Positive(problems, "Relay:HandshakeTimeout", HandshakeTimeout);
        Positive(problems, "Relay:DefaultAddressLifetime", DefaultAddressLifetime);
        Positive(problems, "Relay:MaxAddressLifetime", MaxAddressLifetime);
        Positive(problems, "Relay:ShutdownTimeout", ShutdownTimeout);
        if (MaxAddressLifetime.TotalSeconds > uint.MaxValue)
        {
            problems.Add("Relay:MaxAddressLifetime: must fit in 32-bit seconds (about 136 years).");
        }

        if (DefaultAddressLifetime > MaxAddressLifetime)
        {
            problems.Add("Relay:DefaultAddressLifetime: must not exceed Relay:MaxAddressLifetime.");
        }

        if (ResolutionCacheCapacity < 64 || (ResolutionCacheCapacity & (ResolutionCacheCapacity - 1)) != 0)
        {
            problems.Add($"Relay:ResolutionCacheCapacity: {ResolutionCacheCapacity} must be a power of two, at least 64.");
        }

        Range(problems, "Relay:MaxPushCredit", MaxPushCredit, 1, 65536);
        Positive(problems, "Relay:MaxBatchWindow", MaxBatchWindow);
        if (MaxBatchWindow.TotalMilliseconds > uint.MaxValue)
        {
            problems.Add("Relay:MaxBatchWindow: must fit in 32-bit milliseconds (about 49 days).");
        }

        Range(problems, "Relay:ResolveMissesPerSecond", ResolveMissesPerSecond, 1, 1_000_000);
        Range(problems, "Relay:ResolveMissBurst", ResolveMissBurst, 1, 1_000_000);
        Range(problems, "Relay:PeerResolveMissesPerSecond", PeerResolveMissesPerSecond, 1, 10_000_000);
        Range(problems, "Relay:PeerResolveMissBurst", PeerResolveMissBurst, 1, 10_000_000);
        Range(problems, "Relay:AnonymousResolveMissesPerSecond", AnonymousResolveMissesPerSecond, 1, 10_000_000);
        Range(problems, "Relay:AnonymousResolveMissBurst", AnonymousResolveMissBurst, 1, 10_000_000);
        Range(problems, "Relay:ResolveWorkers", ResolveWorkers, 0, Addressing.ResolverOptions.MaxWorkers);
        Range(problems, "Relay:ResolveQueueCapacity", ResolveQueueCapacity, 1, 1_000_000);
    }

    internal static void Range(List<string> problems, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{name}: {value} is out of range [{min}, {max}].");
        }
    }

    internal static void Positive(List<string> problems, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{name}: {value} must be positive.");
        }
    }
}
