using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using EdgeRelay.Addressing;
using EdgeRelay.Addressing.Interop;

namespace EdgeRelay.Benchmarks;

/// <summary>
/// Cache misses resolved by the <see cref="ResolutionPool"/>: a batch of fresh addresses (as one read of a
/// sending service's connection brings) opened by one worker per core, per miss. Against the floor, one
/// X25519 on one core divided by the cores: the ratio is what HPKE (HKDF, AEAD), the cache insert and the
/// hand-off to the workers cost on top, and how much of the machine the workers get.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/EdgeRelay.Benchmarks -- --filter '*ResolutionPoolBenchmarks*'</remarks>
[MemoryDiagnoser]
public class ResolutionPoolBenchmarks
{
    private const long NotAfter = 4_000_000_000;
    private const int Addresses = 4096;

    private readonly byte[] _scalar = new byte[32];
    private readonly byte[] _point = new byte[32];
    private readonly byte[][] _addresses = new byte[Addresses][];
    private ServiceKey _key = null!;
    private AddressResolver _resolver = null!;
    private ResolutionPool _pool = null!;
    private MissRateLimiter _budget;
    private long _frame;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _key = ServiceKey.Generate();
        Sodium.RandomBytes(_scalar);
        _key.PublicKey.Span.CopyTo(_point);
        var aid = AddressId.NewRandom();
        for (var i = 0; i < _addresses.Length; i++)
        {
            _addresses[i] = new byte[EphemeralAddress.Length];
            EphemeralAddress.Derive(_key.PublicKey.Span, aid, NotAfter, _addresses[i]);
        }

        // A peer's budget far beyond what the machine can open: the budget is not what is measured.
        _resolver = new AddressResolver(_key, new ResolverOptions { PeerMissesPerSecond = 10_000_000, PeerMissBurst = 10_000_000 });
        _pool = new ResolutionPool(_resolver, Environment.ProcessorCount, Stopwatch.Frequency, Stopwatch.GetTimestamp());
        _budget = _resolver.CreateLimiter(MissClass.Peer, Stopwatch.Frequency, Stopwatch.GetTimestamp());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        _key.Dispose();
    }

    [Benchmark(Baseline = true, Description = "X25519 scalarmult, one core (the floor is this / cores)")]
    public bool X25519() => Sodium.ScalarMult(_point, _scalar, _key.PublicKey.Span);

    [Benchmark(OperationsPerInvoke = MissBatch.Capacity, Description = "Miss through the pool, all cores (per miss)")]
    public async Task PoolMiss()
    {
        var batch = _pool.Rent(MissClass.Peer);
        var now = Stopwatch.GetTimestamp();
        for (var i = 0; i < MissBatch.Capacity; i++)
        {
            batch.Add(++_frame, _addresses[_next], _pool, ref _budget, now);
            _next = (_next + 1) & (Addresses - 1);
        }

        await _pool.ResolveAsync(batch);
        _pool.Return(batch);
    }
}
