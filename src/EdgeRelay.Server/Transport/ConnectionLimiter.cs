using System.Collections.Concurrent;
using System.Net;

namespace EdgeRelay.Server;

/// <summary>Why <see cref="ConnectionLimiter.TryAdmit"/> refused a connection (a metrics label each).</summary>
public enum ConnectionRefusal
{
    None,

    /// <summary><see cref="LimitsOptions.MaxConnections"/> connections are open.</summary>
    Total,

    /// <summary><see cref="LimitsOptions.MaxConnectionsPerIp"/> connections are open from the same address.</summary>
    PerIp,
}

/// <summary>
/// Counts the relay endpoint's connections, in all and per remote IP address, against
/// <see cref="LimitsOptions"/> read at each admission, so a reloaded limit applies to the next connection.
/// </summary>
/// <remarks>
/// Admission reserves before it checks and gives back on refusal, so two connections racing for the last
/// slot never both get it. A count that drops to zero removes its address' entry: the map holds only
/// addresses that have a connection open, whatever number of addresses ever connected.
/// </remarks>
public sealed class ConnectionLimiter
{
    private readonly ConcurrentDictionary<IPAddress, int> _perIp = new();
    private int _total;

    /// <summary>Connections admitted and not yet released.</summary>
    public int Count => Volatile.Read(ref _total);

    /// <summary>Connections open from <paramref name="address"/> (normalised as <see cref="Normalise"/> does).</summary>
    public int CountOf(IPAddress address) => _perIp.TryGetValue(Normalise(address), out var count) ? count : 0;

    /// <summary>
    /// The key a connection is counted under: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack
    /// listener reports for an IPv4 client) is that IPv4 address, so one client is one key however it arrives.
    /// </summary>
    public static IPAddress Normalise(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>Admits a connection from <paramref name="address"/> (null: not an IP connection, counted in the total only).</summary>
    /// <returns>None when admitted (call <see cref="Release"/> with the same address when it ends); otherwise why not.</returns>
    public ConnectionRefusal TryAdmit(IPAddress? address, LimitsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var total = Interlocked.Increment(ref _total);
        if (limits.MaxConnections > 0 && total > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _total);
            return ConnectionRefusal.Total;
        }

        if (address is null)
        {
            return ConnectionRefusal.None;
        }

        var key = Normalise(address);
        var count = _perIp.AddOrUpdate(key, 1, static (_, c) => c + 1);
        if (limits.MaxConnectionsPerIp > 0 && count > limits.MaxConnectionsPerIp)
        {
            Decrement(key);
            Interlocked.Decrement(ref _total);
            return ConnectionRefusal.PerIp;
        }

        return ConnectionRefusal.None;
    }

    /// <summary>A connection admitted by <see cref="TryAdmit"/> ended.</summary>
    public void Release(IPAddress? address)
    {
        if (address is not null)
        {
            Decrement(Normalise(address));
        }

        Interlocked.Decrement(ref _total);
    }

    private void Decrement(IPAddress key)
    {
        while (_perIp.TryGetValue(key, out var count))
        {
            // Removing only the exact pair (key, 1) means a concurrent admission that raised it to 2 wins the race.
            if (count == 1 ? _perIp.TryRemove(new KeyValuePair<IPAddress, int>(key, 1)) : _perIp.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }
}
