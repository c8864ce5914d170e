using EdgeRelay.Protocol;

namespace EdgeRelay.Server;

/// <summary>
/// Abuse limits of the relay endpoint (section "Limits"): how many connections it holds, from one IP address
/// and in all, how fast one connection may SEND, and how many signatures one connection and the whole relay
/// check. 0 turns a limit off. Every value is reloadable (SIGHUP,
/// the configuration file, the admin API): a new value applies to connections and SENDs from then on, and a
/// lowered connection limit closes nobody already connected.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>
    /// Connections the relay endpoint holds at once; a connection past it is refused with CONNECTION_LIMIT
    /// before HELLO. Default 10000: about what one relay with the default
    /// <see cref="RelayEndpointOptions.MaxInFlightPerConnection"/> holds in ~160 MiB of replies. 0: no limit.
    /// </summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// Connections from one IP address (an IPv4-mapped IPv6 address counts as its IPv4 address). Default 64:
    /// a household or office behind one NAT runs a few apps each, while one host cannot take every slot of
    /// <see cref="MaxConnections"/>. Clients behind a carrier-grade NAT or a proxy share one address: raise it
    /// (or set 0) for those. 0: no limit.
    /// </summary>
    public int MaxConnectionsPerIp { get; set; } = 64;

    /// <summary>
    /// SENDs one connection may make per second, sustained; past it a SEND gets SEND_RATE_LIMITED and nothing is
    /// stored. Default 0, no limit: the right figure depends on who sends through the relay (a person's apps send
    /// a few a second, a peer relay forwarding for many users thousands over a few connections), and a limit set
    /// too low refuses honest traffic. A public relay should set one, e.g. 1000 with a burst of 2000.
    /// </summary>
    public int SendsPerSecondPerConnection { get; set; }

    /// <summary>
    /// SENDs one connection may make back to back above that rate (the bucket starts full). Default 2000: a
    /// backlog queued while a client was offline goes out at once. Ignored when the rate is 0.
    /// </summary>
    public int SendBurstPerConnection { get; set; } = 2_000;

    /// <summary>
    /// Signature checks (one per AUTH claim, one per REVOKE_ADDRESS) one connection may cause per second,
    /// sustained; past it the request gets VERIFY_RATE_LIMITED and nothing is checked. Each check is an Ed25519
    /// verification (~77 µs of a core), and AUTH carries up to 256 claims: without a bound, one connection could
    /// keep a core busy with a valid signature repeated. Default 1000. 0: no limit.
    /// </summary>
    public int SignatureChecksPerSecondPerConnection { get; set; } = 1_000;

    /// <summary>
    /// Checks one connection may cause back to back (the bucket starts full); at least 256, a whole AUTH. Default
    /// 4096: a client authenticating thousands of addresses on one connection after a reconnect does so at once.
    /// </summary>
    public int SignatureCheckBurstPerConnection { get; set; } = 4_096;

    /// <summary>
    /// Signature checks the whole relay makes per second, for all connections together: what bounds a flood from
    /// many connections. Default 5000, about 0.4 of a core. 0: no limit.
    /// </summary>
    public int SignatureChecksPerSecond { get; set; } = 5_000;

    /// <summary>
    /// Checks the whole relay makes back to back; at least 256. Default 20000: ten thousand subscribers
    /// re-authenticating after a restart of the relay get through at once.
    /// </summary>
    public int SignatureCheckBurst { get; set; } = 20_000;

    internal void Validate(List<string> problems)
    {
        RelayEndpointOptions.Range(problems, "Limits:MaxConnections", MaxConnections, 0, 10_000_000);
        RelayEndpointOptions.Range(problems, "Limits:MaxConnectionsPerIp", MaxConnectionsPerIp, 0, 10_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SendsPerSecondPerConnection", SendsPerSecondPerConnection, 0, 100_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SendBurstPerConnection", SendBurstPerConnection, 1, 100_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SignatureChecksPerSecondPerConnection", SignatureChecksPerSecondPerConnection, 0, 100_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SignatureCheckBurstPerConnection", SignatureCheckBurstPerConnection, ProtocolLimits.MaxAuthClaims, 100_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SignatureChecksPerSecond", SignatureChecksPerSecond, 0, 100_000_000);
        RelayEndpointOptions.Range(problems, "Limits:SignatureCheckBurst", SignatureCheckBurst, ProtocolLimits.MaxAuthClaims, 100_000_000);
    }

    internal LimitsOptions Copy() => new()
    {
        MaxConnections = MaxConnections,
        MaxConnectionsPerIp = MaxConnectionsPerIp,
        SendsPerSecondPerConnection = SendsPerSecondPerConnection,
        SendBurstPerConnection = SendBurstPerConnection,
        SignatureChecksPerSecondPerConnection = SignatureChecksPerSecondPerConnection,
        SignatureCheckBurstPerConnection = SignatureCheckBurstPerConnection,
        SignatureChecksPerSecond = SignatureChecksPerSecond,
        SignatureCheckBurst = SignatureCheckBurst,
    };
}
