using BenchmarkDotNet.Attributes;
using EdgeRelay.Addressing;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// Ephemeral-address resolution: the cache hit every SEND pays (expect 0 B allocated), the miss
/// that costs one HPKE open, and the seal a sender pays to derive an address. The baseline is
/// one raw X25519 scalar multiplication, the floor under both open and miss (PLATFORM-NOTES:
/// ~55 µs here); their ratios show what HPKE's HKDF and AEAD add on top.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter '*AddressingBenchmarks*'</remarks>
[MemoryDiagnoser]
public class AddressingBenchmarks
{
    private const long NowUnixSeconds = 1_700_000_000;
    private const long NotAfter = NowUnixSeconds + 3600;

    // More distinct addresses than the miss resolver's 4-entry cache can hold, cycled in order,
    // so that every Resolve in ResolveMiss is a miss that opens.
    private const int MissAddresses = 1024;

    private readonly byte[] _scalar = new byte[32];
    private readonly byte[] _point = new byte[32];
    private readonly byte[] _ephemeral = new byte[EphemeralAddress.Length];
    private readonly byte[] _derived = new byte[EphemeralAddress.Length];
    private readonly byte[][] _missAddresses = new byte[MissAddresses][];

    private ServiceKey _key = null!;
    private AddressCard _card = null!;
    private AddressResolver _hitResolver = null!;
    private AddressResolver _missResolver = null!;
    private MissRateLimiter _limiter;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _key = ServiceKey.Generate();
        _card = new AddressCard(AddressId.NewRandom(), NotAfter, _key.PublicKey.Span, "relay.example:7443");
        EphemeralAddress.Derive(_card, NotAfter, _ephemeral);

        Sodium.RandomBytes(_scalar);
        _key.PublicKey.Span.CopyTo(_point);

        _hitResolver = new AddressResolver(_key, new ResolverOptions());
        _limiter = _hitResolver.CreateLimiter(timestampFrequency: 1, nowTimestamp: 0);
        if (_hitResolver.Resolve(_ephemeral, ref _limiter, NowUnixSeconds, 0, out _) != ResolveStatus.Resolved)
        {
            throw new InvalidOperationException("Setup: the derived address did not resolve.");
        }

        _missResolver = new AddressResolver(_key, new ResolverOptions { CacheCapacity = ResolutionCache.MinCapacity });
        for (var i = 0; i < _missAddresses.Length; i++)
        {
            _missAddresses[i] = new byte[EphemeralAddress.Length];
            EphemeralAddress.Derive(_card, NotAfter, _missAddresses[i]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Baseline = true, Description = "X25519 scalarmult (floor)")]
    public bool X25519() => Sodium.ScalarMult(_point, _scalar, _key.PublicKey.Span);

    [Benchmark(Description = "Resolve, cache hit")]
    public ResolveStatus ResolveHit() =>
        _hitResolver.Resolve(_ephemeral, ref _limiter, NowUnixSeconds, 0, out _);

    [Benchmark(Description = "Resolve, miss (one HPKE open + cache insert)")]
    public ResolveStatus ResolveMiss()
    {
        var address = _missAddresses[_next];
        _next = (_next + 1) & (MissAddresses - 1);
        // A fresh per-call budget: the limiter is not what is measured here.
        var limiter = new MissRateLimiter(ratePerSecond: 1, burst: 1, timestampFrequency: 1, nowTimestamp: 0);
        return _missResolver.Resolve(address, ref limiter, NowUnixSeconds, 0, out _);
    }

    [Benchmark(Description = "HPKE seal (derive ephemeral address)")]
    public byte Derive()
    {
        EphemeralAddress.Derive(_card, NotAfter, _derived);
        return _derived[1];
    }

    [Benchmark(Description = "HPKE open (key pair known)")]
    public bool Open() => EphemeralAddress.TryOpen(_key, _ephemeral, out _, out _);

    [Benchmark(Description = "HPKE open (private key only)")]
    public bool OpenFromPrivateKey() => EphemeralAddress.TryOpen(_key.PrivateKey, _ephemeral, out _, out _);
}
