namespace EdgeRelay.Server;

/// <summary>Wake-up notifications to offline address owners (section "Notify").</summary>
public sealed class NotifyOptions
{
    /// <summary>Whether the relay sends wake-ups at all. Default true: owners that register no endpoint get none anyway.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Tries per wake-up, the first included. Default 5: with the default back-off the last try comes about
    /// 15 s after the first, long enough to ride out a push server restart, short enough not to pile up.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the first retry, doubled before each next one, plus up to 20 % jitter. Default 1 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest wait between tries, also the cap on a server's Retry-After. Default 60 s: a wake-up later
    /// than that is worth little, since the sender's message is already waiting.
    /// </summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Time allowed for one try, connecting included. Default 10 s: push servers answer in well under a
    /// second, and a try that hangs holds one of the few sending workers.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Endpoints with a wake-up pending (queued, being sent or waiting to retry). Default 10000; beyond it new
    /// wake-ups are dropped and counted, so an unreachable push server costs bounded memory.
    /// </summary>
    public int MaxQueue { get; set; } = 10_000;

    /// <summary>
    /// Whether plain http endpoints are accepted. Default false: the endpoint URL is a capability secret
    /// (UnifiedPush) and the wake-up's timing is metadata, neither of which should cross a network in clear.
    /// </summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Whether endpoints may be, or resolve to, loopback, link-local, private (RFC 1918, fc00::/7, shared
    /// 100.64.0.0/10), unspecified, multicast or reserved addresses. Default false: endpoint URLs come from
    /// clients, and without this guard any client could make the relay POST into its own network (SSRF).
    /// The check is made on the address actually connected to, so DNS rebinding does not get around it.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Longest endpoint URL accepted. Default 512: real push endpoints are under 300 characters.</summary>
    public int MaxEndpointLength { get; set; } = 512;

    /// <summary>
    /// After a wake-up, further messages for the same offline address wake no one until its owner comes
    /// back (PULL or SUBSCRIBE) or this long has passed. Default 60 s: one wake-up per burst of messages,
    /// so a busy conversation does not become a stream of pushes (and of timing signal).
    /// </summary>
    public TimeSpan WakeQuietPeriod { get; set; } = TimeSpan.FromSeconds(60);

    internal void Validate(List<string> problems)
    {
        RelayEndpointOptions.Range(problems, "Notify:MaxAttempts", MaxAttempts, 1, 100);
        RelayEndpointOptions.Positive(problems, "Notify:InitialBackoff", InitialBackoff);
        RelayEndpointOptions.Positive(problems, "Notify:MaxBackoff", MaxBackoff);
        if (MaxBackoff > TimeSpan.FromHours(1))
        {
            problems.Add($"Notify:MaxBackoff: {MaxBackoff} must be at most one hour.");
        }

        if (InitialBackoff > MaxBackoff)
        {
            problems.Add("Notify:InitialBackoff: must not exceed Notify:MaxBackoff.");
        }

        RelayEndpointOptions.Positive(problems, "Notify:RequestTimeout", RequestTimeout);
        if (RequestTimeout > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Notify:RequestTimeout: {RequestTimeout} must be at most five minutes.");
        }

        RelayEndpointOptions.Range(problems, "Notify:MaxQueue", MaxQueue, 1, 10_000_000);
        RelayEndpointOptions.Range(problems, "Notify:MaxEndpointLength", MaxEndpointLength, 64, 2048);
        RelayEndpointOptions.Positive(problems, "Notify:WakeQuietPeriod", WakeQuietPeriod);
    }
}
