using EdgeRelay.Forwarding;

namespace EdgeRelay.Server;

/// <summary>Relay-to-relay forwarding, SEND_VIA (section "Forwarding"). Per-token quotas are in the Access section.</summary>
public sealed class ForwardingSection
{
    /// <summary>A message the receiving relay has not taken after this long fails as UNDELIVERABLE. Default 72 hours: a relay down over a long weekend still gets its mail.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(72);

    /// <summary>Wait after a destination's first failure, doubled per further failure (with jitter in its upper half). Default 1 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between tries of one destination. Default 5 minutes: a returning relay is found within minutes.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most connections to one destination at once. Default 4: each pipelines many SENDs.</summary>
    public int MaxConnectionsPerDestination { get; set; } = 4;

    /// <summary>Most messages in flight to one destination at once. Default 256.</summary>
    public int MaxInFlightPerDestination { get; set; } = 256;

    /// <summary>Time to connect to a destination (TCP, TLS, HELLO, peer token). Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time for a round of SENDs to be answered before the connection counts as broken. Default 30 s.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most messages in the outbound queue, all tokens together (QUEUE_FULL beyond). Default 100,000.</summary>
    public int MaxQueuedMessages { get; set; } = 100_000;

    /// <summary>
    /// Most ciphertext bytes in the outbound queue (QUEUE_FULL beyond). Default 256 MiB: queued ciphertexts are
    /// kept in memory for forwarding, so this bounds that memory too.
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 256L << 20;

    /// <summary>How long SEND_STATUS can still answer for a settled message. Default 7 days.</summary>
    public TimeSpan SettledRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Tokens this relay presents to destinations whose operators issued it one (a peer token), by destination
    /// endpoint: <c>"Forwarding:PeerTokens:relay-b.example:7400": "ert_…"</c>. Default: none.
    /// </summary>
    public Dictionary<string, string> PeerTokens { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    internal ForwardingOptions EngineOptions(TimeSpan stopGrace) => new()
    {
        MaxAge = MaxAge,
        InitialBackoff = InitialBackoff,
        MaxBackoff = MaxBackoff,
        MaxConnectionsPerDestination = MaxConnectionsPerDestination,
        MaxInFlightPerDestination = MaxInFlightPerDestination,
        ConnectTimeout = ConnectTimeout,
        SendTimeout = SendTimeout,
        PeerTokens = new Dictionary<string, string>(PeerTokens, StringComparer.OrdinalIgnoreCase),
        StopGrace = stopGrace,
    };

    internal void Validate(List<string> problems)
    {
        if (MaxAge < TimeSpan.FromSeconds(1) || MaxAge > TimeSpan.FromDays(365))
        {
            problems.Add($"Forwarding:MaxAge: {MaxAge} must be between 1 second and 365 days.");
        }

        RelayEndpointOptions.Positive(problems, "Forwarding:InitialBackoff", InitialBackoff);
        RelayEndpointOptions.Positive(problems, "Forwarding:MaxBackoff", MaxBackoff);
        if (InitialBackoff > MaxBackoff)
        {
            problems.Add("Forwarding:InitialBackoff: must not exceed Forwarding:MaxBackoff.");
        }

        if (MaxBackoff > TimeSpan.FromDays(1))
        {
            problems.Add($"Forwarding:MaxBackoff: {MaxBackoff} must be at most one day.");
        }

        RelayEndpointOptions.Range(problems, "Forwarding:MaxConnectionsPerDestination", MaxConnectionsPerDestination, 1, 64);
        RelayEndpointOptions.Range(problems, "Forwarding:MaxInFlightPerDestination", MaxInFlightPerDestination, 1, 65536);
        RelayEndpointOptions.Positive(problems, "Forwarding:ConnectTimeout", ConnectTimeout);
        RelayEndpointOptions.Positive(problems, "Forwarding:SendTimeout", SendTimeout);
        RelayEndpointOptions.Range(problems, "Forwarding:MaxQueuedMessages", MaxQueuedMessages, 1, 100_000_000);
        RelayEndpointOptions.Range(problems, "Forwarding:MaxQueuedBytes", MaxQueuedBytes, 1, 1L << 40);
        if (SettledRetention < TimeSpan.FromSeconds(1) || SettledRetention > TimeSpan.FromDays(365))
        {
            problems.Add($"Forwarding:SettledRetention: {SettledRetention} must be between 1 second and 365 days.");
        }

        foreach (var (endpoint, token) in PeerTokens)
        {
            if (!Protocol.BodyReader.IsHostAndPort(endpoint))
            {
                problems.Add($"Forwarding:PeerTokens: '{endpoint}' is not host:port (as the destination's cards carry it).");
            }

            if (string.IsNullOrEmpty(token) || token.Length > Protocol.AuthTokenRequest.MaxTokenBytes || token.Any(c => c is < '!' or > '~'))
            {
                problems.Add($"Forwarding:PeerTokens:{endpoint}: a token is 1 to 255 printable ASCII characters.");
            }
        }
    }
}
