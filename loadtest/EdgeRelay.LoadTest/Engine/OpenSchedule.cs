namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// The open model's timetable: message k of the run is intended to go out at <c>start + k / rate</c>, and
/// messages are dealt round-robin to connections, so connection c sends k = c, c + C, c + 2C, … A pure
/// function of its inputs: the latency of a send is measured from <see cref="IntendedTimestamp"/>, never
/// from when the generator got round to it.
/// </summary>
internal sealed class OpenSchedule
{
    private readonly long _start;
    private readonly double _ticksPerMessage;
    private readonly int _connection;
    private readonly int _connections;

    public OpenSchedule(long startTimestamp, long timestampFrequency, double messagesPerSecond, int connection, int connections)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(messagesPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(connections);
        ArgumentOutOfRangeException.ThrowIfNegative(connection);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(connection, connections);
        _start = startTimestamp;
        _ticksPerMessage = timestampFrequency / messagesPerSecond;
        _connection = connection;
        _connections = connections;
    }

    /// <summary>When this connection's <paramref name="n"/>-th send (from 0) is due.</summary>
    public long IntendedTimestamp(long n) => _start + (long)((((double)n * _connections) + _connection) * _ticksPerMessage);

    /// <summary>The first n whose send is due at or after <paramref name="timestamp"/>.</summary>
    public long FirstAtOrAfter(long timestamp)
    {
        if (timestamp <= IntendedTimestamp(0))
        {
            return 0;
        }

        // Estimate, then correct for rounding either way.
        long n = (long)Math.Ceiling((((timestamp - _start) / _ticksPerMessage) - _connection) / _connections);
        n = Math.Max(0, n);
        while (n > 0 && IntendedTimestamp(n - 1) >= timestamp)
        {
            n--;
        }

        while (IntendedTimestamp(n) < timestamp)
        {
            n++;
        }

        return n;
    }
}
