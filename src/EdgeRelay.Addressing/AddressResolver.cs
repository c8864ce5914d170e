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
/// <para>A relay resolves misses on the <see cref="ResolutionPool"/>'s workers (<see cref="TryResolveCached"/> on
/// the connection, <see cref="OpenAndCache"/> on a worker); <see cref="Resolve"/> does both on the
/// caller's thread, for callers that resolve one address at a time.
/// </para>
/// <para>Shared by all connections (the cache is thread-safe; each connection owns its limiter). Whether
/// the long-term address is itself expired or revoked is the store's business, not this class'.</para>
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

    /// <summary>The validated options this resolver was built with.</summary>
    public ResolverOptions Options => _options;

    /// <summary>HPKE opens performed (cache misses that were not rate-limited).</summary>
    public long Opens => Interlocked.Read(ref _opens);

    /// <summary>A full per-connection limiter with this resolver's rate and burst.</summary>
    public MissRateLimiter CreateLimiter(long timestampFrequency, long nowTimestamp) =>
        new(_options.MissesPerSecond, _options.MissBurst, timestampFrequency, nowTimestamp);

    /// <summary>A full per-connection limiter with this resolver's rate and burst for <paramref name="missClass"/>.</summary>
    public MissRateLimiter CreateLimiter(MissClass missClass, long timestampFrequency, long nowTimestamp) => missClass == MissClass.Peer
        ? new(_options.PeerMissesPerSecond, _options.PeerMissBurst, timestampFrequency, nowTimestamp)
        : CreateLimiter(timestampFrequency, nowTimestamp);

    /// <summary>Resolves on the caller's thread: cache first, then one HPKE open charged to <paramref name="limiter"/>.</summary>
    /// <param name="ephemeral">The address bytes as received.</param>
    /// <param name="limiter">The calling connection's budget for opens.</param>
    /// <param name="nowUnixSeconds">Wall-clock time, for the address' notAfter.</param>
    /// <param name="nowTimestamp">Monotonic timestamp, for the limiter.</param>
    /// <param name="aid">The address id when <see cref="ResolveStatus.Resolved"/>; empty otherwise.</param>
    public ResolveStatus Resolve(ReadOnlySpan<byte> ephemeral, ref MissRateLimiter limiter, long nowUnixSeconds, long nowTimestamp, out AddressId aid)
    {
        if (TryResolveCached(ephemeral, nowUnixSeconds, out var status, out aid))
        {
            return status;
        }

        if (!limiter.TryAcquire(nowTimestamp))
        {
            return ResolveStatus.RateLimited;
        }

        var opened = OpenAndCache(ephemeral, out var candidate, out var notAfter);
        return Decide(!opened, candidate, notAfter, nowUnixSeconds, out aid);
    }

    /// <summary>
    /// Resolves without any crypto: a malformed address, or one the cache knows. False on a miss, which
    /// needs an open (<see cref="OpenAndCache"/>, through a budget). Allocates nothing.
    /// </summary>
    public bool TryResolveCached(ReadOnlySpan<byte> ephemeral, long nowUnixSeconds, out ResolveStatus status, out AddressId aid)
    {
        aid = default;
        if (!EphemeralAddress.IsWellFormed(ephemeral))
        {
            status = ResolveStatus.Malformed;
            return true;
        }

        if (Cache.TryGet(ephemeral, out var entry))
        {
            status = Decide(entry.IsNegative, entry.Aid, entry.NotAfterUnixSeconds, nowUnixSeconds, out aid);
            return true;
        }

        status = default;
        return false;
    }

    /// <summary>
    /// One HPKE open, whatever the cache holds, and its result cached (good or garbage): the work a miss
    /// costs. Charges no budget; callers have. False when the address does not open under the service key.
    /// </summary>
    public bool OpenAndCache(ReadOnlySpan<byte> ephemeral, out AddressId aid, out long notAfterUnixSeconds)
    {
        Interlocked.Increment(ref _opens);
        if (!EphemeralAddress.TryOpen(_serviceKey, ephemeral, out aid, out notAfterUnixSeconds))
        {
            Cache.AddNegative(ephemeral);
            return false;
        }

        // Cached even when already expired: the next attempt is then a cheap Expired hit.
        Cache.AddPositive(ephemeral, aid, notAfterUnixSeconds);
        return true;
    }

    /// <summary>What an open (or a cache entry) means at <paramref name="nowUnixSeconds"/>.</summary>
    internal static ResolveStatus Decide(bool isNegative, AddressId candidate, long notAfter, long nowUnixSeconds, out AddressId aid)
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
