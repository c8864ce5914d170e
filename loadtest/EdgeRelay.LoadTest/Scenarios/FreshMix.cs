namespace EdgeRelay.LoadTest.Scenarios;

/// <summary>
/// Decides which SENDs go to a newly derived address: a share of <c>--fresh-ratio</c>, drawn independently
/// per SEND. The draw is a hash of (seed, connection, sequence), a counter-based generator: the same seed
/// gives the same mix in every run, whatever the order in which concurrent operations ask, with no shared
/// state and no allocation.
/// </summary>
internal readonly struct FreshMix
{
    /// <summary>2^-53: turns the top 53 bits of a draw into a double in [0, 1).</summary>
    private const double Unit = 1.0 / (1UL << 53);

    private readonly ulong _stream;
    private readonly double _ratio;

    public FreshMix(int seed, int connection, double ratio)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ratio, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ratio, 1);

        // Connections draw from streams far apart, so that no two of them see the same sequence of draws.
        _stream = Mix(((ulong)(uint)seed << 32) | (uint)connection);
        _ratio = ratio;
    }

    public double Ratio => _ratio;

    /// <summary>Whether SEND number <paramref name="sequence"/> of this connection goes to a fresh address.</summary>
    public bool IsFresh(long sequence) =>
        _ratio >= 1 || (_ratio > 0 && (Mix(_stream + (ulong)sequence) >> 11) * Unit < _ratio);

    /// <summary>SplitMix64's finaliser: consecutive inputs give independent, uniformly spread outputs.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
