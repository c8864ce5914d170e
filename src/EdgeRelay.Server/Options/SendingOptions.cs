using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

/// <summary>
/// The roles this relay plays (section "Roles"): one process may be a receiving service, a sending service,
/// or both. A request of a role the relay does not play is refused with UNKNOWN_COMMAND.
/// </summary>
public sealed class RolesOptions
{
    /// <summary>Issues addresses and takes SENDs for them. Default true.</summary>
    public bool Receiving { get; set; } = true;

    /// <summary>Forwards (SEND_VIA) and stores attachments for the operator's RMs, who present access tokens. Default true.</summary>
    public bool Sending { get; set; } = true;

    public ServiceRoles ToFlags() => (Receiving ? ServiceRoles.Receiving : 0) | (Sending ? ServiceRoles.Sending : 0);

    internal void Validate(List<string> problems)
    {
        if (!Receiving && !Sending)
        {
            problems.Add("Roles: at least one of Roles:Receiving and Roles:Sending must be true.");
        }
    }
}

/// <summary>
/// The sending configuration that connected RMs are told about (section "Sending"): reloaded without a
/// restart (SIGHUP, or a change of the configuration file), and pushed to them in a CONFIG frame.
/// </summary>
public sealed class SendingOptions
{
    /// <summary>Largest ciphertext SEND_VIA accepts; 0 means Relay:MaxCiphertextBytes (it may not exceed it). Reloadable.</summary>
    public int MaxCiphertextBytes { get; set; }

    /// <summary>
    /// The batch interval D of the batched sending mode (SEND_VIA_MODE mode 2, PROTOCOL.md 4.17): a batched message
    /// is held until the next multiple of D since the Unix epoch, and leaves with every other message of that
    /// instant, in a random order. 0 turns the mode off (SEND_VIA_MODE with mode 2 gets MODE_UNAVAILABLE). Default
    /// 30 s: a release then carries the messages of half a minute, which blurs when each was written, while a
    /// conversation still flows. 0, or 1 s to 1 h in whole milliseconds, and shorter than Forwarding:MaxAge.
    /// Reloadable; a change applies to messages queued after it (a queued message keeps its release time).
    /// </summary>
    public TimeSpan BatchedDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The SEND_VIA limit in effect.</summary>
    public int EffectiveMaxCiphertextBytes(RelayEndpointOptions relay) => MaxCiphertextBytes > 0 ? MaxCiphertextBytes : relay.MaxCiphertextBytes;

    /// <summary>The batch interval of the batched mode in milliseconds, the option's <c>delay_ms</c>; 0 while it is off.</summary>
    public uint BatchedDelayMilliseconds => (uint)BatchedDelay.TotalMilliseconds;

    /// <summary>
    /// The sending options offered, in increasing mode: immediate forwarding always, and the batched mode with its
    /// interval while <see cref="BatchedDelay"/> is not 0.
    /// </summary>
    public SendingOption[] Offered() => BatchedDelay > TimeSpan.Zero
        ? [new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, BatchedDelayMilliseconds)]
        : [new SendingOption(SendingMode.Immediate, 0)];

    /// <summary>
    /// The batch interval a SEND_VIA_MODE in <paramref name="mode"/> is queued with (0: at once), or false when this
    /// relay does not offer that mode now (MODE_UNAVAILABLE).
    /// </summary>
    public bool TryGetBatchInterval(SendingMode mode, out long intervalMs)
    {
        intervalMs = mode == SendingMode.Batched ? BatchedDelayMilliseconds : 0;
        return mode == SendingMode.Immediate || (mode == SendingMode.Batched && intervalMs > 0);
    }

    internal void Validate(RelayEndpointOptions relay, ForwardingSection forwarding, List<string> problems)
    {
        if (MaxCiphertextBytes < 0 || MaxCiphertextBytes > relay.MaxCiphertextBytes)
        {
            problems.Add($"Sending:MaxCiphertextBytes: {MaxCiphertextBytes} must be 0 (Relay:MaxCiphertextBytes) or between 1 and Relay:MaxCiphertextBytes ({relay.MaxCiphertextBytes}).");
        }

        if (BatchedDelay != TimeSpan.Zero && (BatchedDelay < TimeSpan.FromSeconds(1) || BatchedDelay > TimeSpan.FromHours(1)))
        {
            problems.Add($"Sending:BatchedDelay: {BatchedDelay} must be 0 (no batched mode) or between 00:00:01 and 01:00:00.");
        }
        else if (BatchedDelay.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            problems.Add($"Sending:BatchedDelay: {BatchedDelay} must be a whole number of milliseconds (RMs are told it in milliseconds).");
        }
        else if (BatchedDelay >= forwarding.MaxAge)
        {
            problems.Add($"Sending:BatchedDelay: {BatchedDelay} must be shorter than Forwarding:MaxAge ({forwarding.MaxAge}): a batched message would reach its maximum age before its release.");
        }
    }
}
