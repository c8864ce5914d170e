namespace EdgeRelay.Addressing;

/// <summary>How an ephemeral address resolved. Each value maps to one stable refusal on the wire.</summary>
public enum ResolveStatus
{
    Resolved,

    /// <summary>Not 73 bytes or an unknown version: refused without crypto and not cached.</summary>
    Malformed,

    /// <summary>Does not open under the service key; cached as negative, so repeats are cheap.</summary>
    Invalid,

    /// <summary>Opened, but the ephemeral address' own notAfter is in the past.</summary>
    Expired,

    /// <summary>A miss that would need an HPKE open, but the connection's budget is spent.</summary>
    RateLimited,
}

/// <summary>
/// Maps ephemeral address bytes to the <c>aid</c> they were sealed for: cache first, then at most
/// one HPKE open per miss, bounded per connection by a <see cref="MissRateLimiter"/>.
/// </summary>
/// <remarks>
/// Shared by all connections (the cache is thread-safe; each connection owns its limiter). Whether
/// the long-term address is itself expired or revoked is the store's business, not this class'.
/// </remarks>
public sealed class AddressResolver
{
    private readonly ServiceKey _serviceKey;
    private readonly ResolverOptions _options;
    private long _opens;

    public AddressResolver(ServiceKey serviceKey, ResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _serviceKey = serviceKey;
        _options = options;
        Cache = new ResolutionCache(options.CacheCapacity);
    }

    public ResolutionCache Cache { get; }

    /// <summary>HPKE opens performed (cache misses that were not rate-limited).</summary>
    public long Opens => Interlocked.Read(ref _opens);

    /// <summary>A full per-connection limiter with this resolver's rate and burst.</summary>
    public MissRateLimiter CreateLimiter(long timestampFrequency, long nowTimestamp) =>
        new(_options.MissesPerSecond, _options.MissBurst, timestampFrequency, nowTimestamp);

    /// <param name="ephemeral">The address bytes as received.</param>
    /// <param name="limiter">The calling connection's budget for opens.</param>
    /// <param name="nowUnixSeconds">Wall-clock time, for the address' notAfter.</param>
    /// <param name="nowTimestamp">Monotonic timestamp, for the limiter.</param>
    /// <param name="aid">The address id when <see cref="ResolveStatus.Resolved"/>; empty otherwise.</param>
    public ResolveStatus Resolve(ReadOnlySpan<byte> ephemeral, ref MissRateLimiter limiter, long nowUnixSeconds, long nowTimestamp, out AddressId aid)
    {
        aid = default;
        if (!EphemeralAddress.IsWellFormed(ephemeral))
        {
            return ResolveStatus.Malformed;
        }

        if (Cache.TryGet(ephemeral, out var entry))
        {
            return Decide(entry.IsNegative, entry.Aid, entry.NotAfterUnixSeconds, nowUnixSeconds, out aid);
        }

        if (!limiter.TryAcquire(nowTimestamp))
        {
            return ResolveStatus.RateLimited;
        }

        Interlocked.Increment(ref _opens);
        if (!EphemeralAddress.TryOpen(_serviceKey, ephemeral, out var opened, out var notAfter))
        {
            Cache.AddNegative(ephemeral);
            return ResolveStatus.Invalid;
        }

        // Cached even when already expired: the next attempt is then a cheap Expired hit.
        Cache.AddPositive(ephemeral, opened, notAfter);
        return Decide(isNegative: false, opened, notAfter, nowUnixSeconds, out aid);
    }

    private static ResolveStatus Decide(bool isNegative, AddressId candidate, long notAfter, long nowUnixSeconds, out AddressId aid)
    {
        aid = default;
        if (isNegative)
        {
            return ResolveStatus.Invalid;
        }

        if (notAfter < nowUnixSeconds)
        {
            return ResolveStatus.Expired;
        }

        aid = candidate;
        return ResolveStatus.Resolved;
    }
}
