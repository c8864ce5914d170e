namespace EdgeRelay.Addressing;

/// <summary>Settings of <see cref="AddressResolver"/>; checked by <see cref="Validate"/> at start-up.</summary>
public sealed class ResolverOptions
{
    /// <summary>More resolution threads than this is a mistake: they only compete for the same cores.</summary>
    public const int MaxWorkers = 1024;

    /// <summary>
    /// Entries in the resolution cache, a power of two from 4 to 2^24. Default 262144: about
    /// 30 MB (73 key bytes + 40 bytes of entry per slot), so the ephemeral addresses of 100,000
    /// active senders fill 38% of it and every one has a slot (see <see cref="ResolutionCache"/>).
    /// </summary>
    public int CacheCapacity { get; set; } = 262144;

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

    /// <summary>
    /// Sustained misses per second of one connection authenticated as a peer relay. Default 20000: a
    /// sending service forwards fresh addresses for many users over a few connections, so its budget is
    /// sized like a share of a machine (one open is ~40 µs, so about 80% of one core), not like one user.
    /// </summary>
    public int PeerMissesPerSecond { get; set; } = 20_000;

    /// <summary>Misses a peer connection may make back to back. Default 5000: a queue built up while the link was down drains at once.</summary>
    public int PeerMissBurst { get; set; } = 5_000;

    /// <summary>
    /// Sustained misses per second of every anonymous connection together. Default 5000 (about 20% of
    /// one core): however many connections a flood opens, that is all the CPU it gets; peer relays are
    /// not charged here.
    /// </summary>
    public int AnonymousMissesPerSecond { get; set; } = 5_000;

    /// <summary>Misses all anonymous connections together may make back to back. Default 1000.</summary>
    public int AnonymousMissBurst { get; set; } = 1_000;

    /// <summary>Threads that perform HPKE opens. 0 (default): one per core.</summary>
    public int Workers { get; set; }

    /// <summary>
    /// Anonymous misses admitted and not yet resolved, server-wide; past it a miss is refused at once.
    /// Default 4096: at ~40 µs an open, at most ~160 ms of one core's work waits, so an anonymous sender
    /// never waits long, and a burst cannot build an unbounded queue. Peer misses are bounded by their
    /// connections' budgets instead.
    /// </summary>
    public int AnonymousQueueCapacity { get; set; } = 4096;

    /// <summary>The number of workers <see cref="Workers"/> stands for.</summary>
    public int EffectiveWorkers => Workers == 0 ? Environment.ProcessorCount : Workers;

    /// <exception cref="ArgumentOutOfRangeException">Names the first option out of range.</exception>
    public void Validate()
    {
        if (CacheCapacity < ResolutionCache.MinCapacity || CacheCapacity > ResolutionCache.MaxCapacity
            || (CacheCapacity & (CacheCapacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheCapacity), CacheCapacity,
                $"{nameof(CacheCapacity)} must be a power of two from {ResolutionCache.MinCapacity} to {ResolutionCache.MaxCapacity}.");
        }

        AtLeastOne(MissesPerSecond, nameof(MissesPerSecond));
        AtLeastOne(MissBurst, nameof(MissBurst));
        AtLeastOne(PeerMissesPerSecond, nameof(PeerMissesPerSecond));
        AtLeastOne(PeerMissBurst, nameof(PeerMissBurst));
        AtLeastOne(AnonymousMissesPerSecond, nameof(AnonymousMissesPerSecond));
        AtLeastOne(AnonymousMissBurst, nameof(AnonymousMissBurst));
        AtLeastOne(AnonymousQueueCapacity, nameof(AnonymousQueueCapacity));
        if (Workers < 0 || Workers > MaxWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(Workers), Workers,
                $"{nameof(Workers)} must be 0 (one per core) to {MaxWorkers}.");
        }
    }

    private static void AtLeastOne(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}
