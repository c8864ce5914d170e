namespace EdgeRelay.Server;

/// <summary>The abuse limits (section Limits) and the connections counted against them.</summary>
public sealed partial class RelayServer
{
    private LimitsOptions _limits = null!;

    /// <summary>The abuse limits in effect.</summary>
    public LimitsOptions Limits => Volatile.Read(ref _limits);

    /// <summary>The relay endpoint's connections, in all and per IP address, counted against <see cref="Limits"/>.</summary>
    public ConnectionLimiter Connections { get; } = new();
}
