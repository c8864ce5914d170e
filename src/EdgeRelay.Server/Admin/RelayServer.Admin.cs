namespace EdgeRelay.Server;

/// <summary>The state the admin API reads and changes beyond what the protocol needs.</summary>
public sealed partial class RelayServer
{
    /// <summary>When the relay began serving (UTC, from its clock), for the uptime the admin API and status page show.</summary>
    public DateTimeOffset StartedAt { get; internal set; }

    /// <summary>
    /// Reloads the configuration from where the executable read it and applies it (<c>POST /admin/reload</c>);
    /// null when the relay was started without one, e.g. in process by a test.
    /// </summary>
    public Func<ConfigurationChange>? ReloadConfiguration { get; set; }

    private volatile bool _draining;

    /// <summary>Set by an operator's drain: SENDs are refused while pulls, pushes and acks go on.</summary>
    /// <remarks>Volatile: every connection's SEND path reads it, and a drain must reach them at once.</remarks>
    public bool IsDraining
    {
        get => _draining;
        set => _draining = value;
    }
}
