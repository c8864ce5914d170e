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

    /// <summary>The SEND_VIA limit in effect.</summary>
    public int EffectiveMaxCiphertextBytes(RelayEndpointOptions relay) => MaxCiphertextBytes > 0 ? MaxCiphertextBytes : relay.MaxCiphertextBytes;

    /// <summary>
    /// The sending options offered: immediate forwarding. The list exists so that a relay can offer more (a
    /// batched mode that trades latency for timing privacy) without changing STATUS or CONFIG.
    /// </summary>
    public static SendingOption[] Offered() => [new SendingOption(SendingMode.Immediate, 0)];

    internal void Validate(RelayEndpointOptions relay, List<string> problems)
    {
        if (MaxCiphertextBytes < 0 || MaxCiphertextBytes > relay.MaxCiphertextBytes)
        {
            problems.Add($"Sending:MaxCiphertextBytes: {MaxCiphertextBytes} must be 0 (Relay:MaxCiphertextBytes) or between 1 and Relay:MaxCiphertextBytes ({relay.MaxCiphertextBytes}).");
        }
    }
}
