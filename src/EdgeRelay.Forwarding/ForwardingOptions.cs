namespace EdgeRelay.Forwarding;

/// <summary>How the forwarding engine delivers to other relays. The server binds these from its Forwarding section.</summary>
public sealed class ForwardingOptions
{
    /// <summary>
    /// How long a message may wait for its receiving relay before it is given up as undeliverable (failure
    /// code UNDELIVERABLE). Default 72 hours: a relay down over a long weekend still gets its messages.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(72);

    /// <summary>The wait after a destination's first transient failure; it doubles after each further one. Default 1 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait between tries of one destination. Default 5 minutes: a relay that comes back is found
    /// within minutes, and a dead one costs one connection attempt per 5 minutes.
    /// </summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most connections open to one destination at once. Default 4: each pipelines many SENDs, so a few saturate a peer.</summary>
    public int MaxConnectionsPerDestination { get; set; } = 4;

    /// <summary>
    /// Most messages in flight to one destination at once (spread over its connections, pipelined). Default
    /// 256: one round trip then carries up to 256 messages.
    /// </summary>
    public int MaxInFlightPerDestination { get; set; } = 256;

    /// <summary>Time allowed to connect to a destination (TCP, TLS, HELLO, the peer token). Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for one round of SENDs to be answered before the connection counts as broken. Default 30 s.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Tokens this relay presents (AUTH_TOKEN) to destinations whose operators issued it one, by destination
    /// endpoint ("host:port", as in cards). Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, string> PeerTokens { get; set; } = new Dictionary<string, string>();

    /// <summary>How long stopping waits for the SENDs in flight to be answered before it abandons them (they stay queued). Default 5 s.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(5);
}
