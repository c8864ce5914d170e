namespace EdgeRelay.Addressing;

/// <summary>Settings of <see cref="AddressResolver"/>; checked by <see cref="Validate"/> at start-up.</summary>
public sealed class ResolverOptions
{
    /// <summary>
    /// Entries in the resolution cache, a power of two from 4 to 2^24. Default 65536: about
    /// 7.4 MB (73 key bytes + 40 bytes of entry per slot), enough for the ephemeral addresses
    /// of tens of thousands of active senders.
    /// </summary>
    public int CacheCapacity { get; set; } = 65536;

    /// <summary>
    /// Sustained HPKE opens (cache misses) per second per connection. Default 200: one open costs
    /// ~55 µs, so a single connection can take at most ~1% of a core; honest clients miss once
    /// per new ephemeral address, far below this.
    /// </summary>
    public int MissesPerSecond { get; set; } = 200;

    /// <summary>
    /// Opens a connection may make back to back before <see cref="MissesPerSecond"/> applies.
    /// Default 100: a relay-to-relay connection starting with a queue of fresh addresses drains
    /// it without being throttled at once.
    /// </summary>
    public int MissBurst { get; set; } = 100;

    /// <exception cref="ArgumentOutOfRangeException">Names the first option out of range.</exception>
    public void Validate()
    {
        if (CacheCapacity < ResolutionCache.MinCapacity || CacheCapacity > ResolutionCache.MaxCapacity
            || (CacheCapacity & (CacheCapacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheCapacity), CacheCapacity,
                $"{nameof(CacheCapacity)} must be a power of two from {ResolutionCache.MinCapacity} to {ResolutionCache.MaxCapacity}.");
        }

        if (MissesPerSecond < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MissesPerSecond), MissesPerSecond,
                $"{nameof(MissesPerSecond)} must be at least 1.");
        }

        if (MissBurst < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MissBurst), MissBurst,
                $"{nameof(MissBurst)} must be at least 1.");
        }
    }
}
