using System.Collections.Concurrent;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>
/// What one flood did and what the relay answered, counted from many tasks at once: attempts, what was let
/// through, refusals by protocol error code, and outcomes that are not a code (closed, timed out, socket errors).
/// </summary>
internal sealed class FloodCounts
{
    /// <summary>The relay closed the connection (after its refusal, or without one).</summary>
    public const string Closed = "closed";

    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _other = new(StringComparer.Ordinal);
    private long _attempts;
    private long _accepted;

    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Let through: a connection held, a request answered OK.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    public IReadOnlyDictionary<string, long> Refusals => new SortedDictionary<string, long>(_refusals, StringComparer.Ordinal);

    /// <summary>Outcomes with no error code: connections closed, exceptions by type.</summary>
    public IReadOnlyDictionary<string, long> Other => new SortedDictionary<string, long>(_other, StringComparer.Ordinal);

    public void Attempt() => Interlocked.Increment(ref _attempts);

    public void Accept() => Interlocked.Increment(ref _accepted);

    public void Refuse(ErrorCode code) => _refusals.AddOrUpdate(ErrorCodes.Name(code), 1, static (_, n) => n + 1);

    public void Note(string outcome) => _other.AddOrUpdate(outcome, 1, static (_, n) => n + 1);

    public long RefusedWith(ErrorCode code) => _refusals.GetValueOrDefault(ErrorCodes.Name(code));
}
