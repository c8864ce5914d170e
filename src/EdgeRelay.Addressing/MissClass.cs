namespace EdgeRelay.Addressing;

/// <summary>
/// Whose cache miss it is, which decides its budget and its place in the <see cref="ResolutionPool"/>'s
/// queue. The numeric order is the priority order: lower values are resolved first.
/// </summary>
public enum MissClass
{
    /// <summary>A connection authenticated as a peer relay (a sending service): its own, larger budget, resolved first.</summary>
    Peer = 0,

    /// <summary>Any other connection: a per-connection budget and, together with every other anonymous connection, a server-wide one.</summary>
    Anonymous = 1,
}

/// <summary>Which budget refused a miss (all of them end in the same RATE_LIMITED on the wire).</summary>
public enum MissRefusal
{
    None = 0,

    /// <summary>The connection's own budget (per-connection rate and burst).</summary>
    Connection = 1,

    /// <summary>The server-wide budget of all anonymous connections together.</summary>
    Server = 2,

    /// <summary>Too many anonymous misses are already waiting for a worker.</summary>
    Queue = 3,
}
