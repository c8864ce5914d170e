using System.Security.Cryptography;

namespace EdgeRelay.Addressing.Tests;

public sealed class AddressResolverTests : IDisposable
{
    private const long Frequency = 1_000_000_000;
    private const long Now = 1_700_000_000;

    private readonly ServiceKey _key = ServiceKey.Generate();
    private readonly AddressId _aid = AddressId.NewRandom();

    public void Dispose() => _key.Dispose();

    private AddressResolver Resolver(int capacity = 1024, int rate = 200, int burst = 100) =>
        new(_key, new ResolverOptions { CacheCapacity = capacity, MissesPerSecond = rate, MissBurst = burst });

    private byte[] Address(long notAfter = Now + 3600)
    {
        var address = new byte[EphemeralAddress.Length];
        EphemeralAddress.Derive(_key.PublicKey.Span, _aid, notAfter, address);
        return address;
    }

    private static byte[] Garbage()
    {
        var garbage = RandomNumberGenerator.GetBytes(EphemeralAddress.Length);
        garbage[0] = EphemeralAddress.Version;
        return garbage;
    }

    [Fact]
    public void A_derived_address_resolves_first_by_opening_then_from_the_cache()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var address = Address();

        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(address, ref limiter, Now, 0, out var aid));
        Assert.Equal(_aid, aid);
        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(address, ref limiter, Now, 0, out aid));
        Assert.Equal(_aid, aid);
        Assert.Equal(1, resolver.Opens);
        Assert.Equal(1, resolver.Cache.Hits);
    }

    [Fact]
    public void Malformed_input_is_refused_without_crypto_or_caching()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var wrongVersion = Address();
        wrongVersion[0] = 0x02;

        Assert.Equal(ResolveStatus.Malformed, resolver.Resolve([], ref limiter, Now, 0, out var aid));
        Assert.Equal(ResolveStatus.Malformed, resolver.Resolve(new byte[72], ref limiter, Now, 0, out aid));
        Assert.Equal(ResolveStatus.Malformed, resolver.Resolve(new byte[74], ref limiter, Now, 0, out aid));
        Assert.Equal(ResolveStatus.Malformed, resolver.Resolve(wrongVersion, ref limiter, Now, 0, out aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(0, resolver.Opens);
        Assert.Equal(0, resolver.Cache.Count);
        Assert.Equal(0, resolver.Cache.Misses); // not even looked up
    }

    [Fact]
    public void Garbage_is_invalid_and_negative_cached_so_the_repeat_costs_no_open()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var garbage = Garbage();

        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(garbage, ref limiter, Now, 0, out var aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(garbage, ref limiter, Now, 0, out _));
        Assert.Equal(1, resolver.Opens);
        Assert.Equal(1, resolver.Cache.NegativeHits);
    }

    [Fact]
    public void A_tampered_address_is_invalid()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var address = Address();
        address[40] ^= 1;
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(address, ref limiter, Now, 0, out _));
    }

    [Fact]
    public void An_expired_address_is_expired_on_the_miss_and_on_the_hit()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var address = Address(notAfter: Now - 1);

        Assert.Equal(ResolveStatus.Expired, resolver.Resolve(address, ref limiter, Now, 0, out var aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(ResolveStatus.Expired, resolver.Resolve(address, ref limiter, Now, 0, out aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(1, resolver.Opens);
    }

    [Fact]
    public void A_cached_address_expires_when_time_passes_its_not_after()
    {
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var address = Address(notAfter: Now + 10);

        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(address, ref limiter, Now, 0, out _));
        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(address, ref limiter, Now + 10, 0, out _)); // notAfter is inclusive
        Assert.Equal(ResolveStatus.Expired, resolver.Resolve(address, ref limiter, Now + 11, 0, out _));
    }

    [Fact]
    public void Spent_budget_refuses_misses_without_opening_but_hits_still_work()
    {
        var resolver = Resolver(rate: 1, burst: 2);
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var good = Address();
        var knownGarbage = Garbage();

        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(good, ref limiter, Now, 0, out _));
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(knownGarbage, ref limiter, Now, 0, out _));
        Assert.Equal(2, resolver.Opens);

        // Budget spent: a new address, even a genuine one, is refused before any crypto.
        var fresh = Address();
        Assert.Equal(ResolveStatus.RateLimited, resolver.Resolve(fresh, ref limiter, Now, 0, out var aid));
        Assert.True(aid.IsEmpty);
        Assert.Equal(ResolveStatus.RateLimited, resolver.Resolve(Garbage(), ref limiter, Now, 0, out _));
        Assert.Equal(2, resolver.Opens);
        Assert.False(resolver.Cache.TryGet(fresh, out _)); // nothing cached for a refused miss

        // Cache hits cost no budget.
        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(good, ref limiter, Now, 0, out aid));
        Assert.Equal(_aid, aid);
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(knownGarbage, ref limiter, Now, 0, out _));
        Assert.Equal(2, resolver.Opens);

        // One second later, one more open.
        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(fresh, ref limiter, Now, Frequency, out _));
        Assert.Equal(3, resolver.Opens);
    }

    [Fact]
    public void Limiters_are_per_connection()
    {
        var resolver = Resolver(rate: 1, burst: 1);
        var first = resolver.CreateLimiter(Frequency, 0);
        var second = resolver.CreateLimiter(Frequency, 0);
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(Garbage(), ref first, Now, 0, out _));
        Assert.Equal(ResolveStatus.RateLimited, resolver.Resolve(Garbage(), ref first, Now, 0, out _));
        Assert.Equal(ResolveStatus.Invalid, resolver.Resolve(Garbage(), ref second, Now, 0, out _));
    }

    [Fact]
    public void Cache_hit_resolution_allocates_nothing()
    {
        const int calls = 50_000;
        var resolver = Resolver();
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var address = Address();
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(address, ref limiter, Now, 0, out var warm));
            Assert.Equal(_aid, warm);
        }

        var opens = resolver.Opens;
        var hits = resolver.Cache.Hits;

        // Each result is checked with plain comparisons and counted; an assertion per call would box or
        // build a message inside the measured loop.
        var expected = _aid;
        var wrong = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            var status = resolver.Resolve(address, ref limiter, Now, 0, out var aid);
            if (status != ResolveStatus.Resolved || aid != expected)
            {
                wrong++;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, wrong);
        Assert.Equal(0, allocated);

        // Every measured call was a hit: none opened anything.
        Assert.Equal(opens, resolver.Opens);
        Assert.Equal(hits + calls, resolver.Cache.Hits);
    }

    [Fact]
    public void Miss_resolution_allocates_nothing()
    {
        var resolver = Resolver(burst: 1000);
        var limiter = resolver.CreateLimiter(Frequency, 0);
        var addresses = Enumerable.Range(0, 50).Select(_ => Address()).ToArray();
        resolver.Resolve(Address(), ref limiter, Now, 0, out _); // warm up
        resolver.Resolve(Garbage(), ref limiter, Now, 0, out _);

        var expected = _aid;
        var wrong = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var address in addresses)
        {
            if (resolver.Resolve(address, ref limiter, Now, 0, out var aid) != ResolveStatus.Resolved || aid != expected)
            {
                wrong++;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, wrong);
        Assert.Equal(52, resolver.Opens);
    }
}

public class ResolverOptionsTests
{
    [Fact]
    public void Defaults_are_valid() => new ResolverOptions().Validate();

    [Theory]
    [InlineData(0, 200, 100, "CacheCapacity")]
    [InlineData(1000, 200, 100, "CacheCapacity")]
    [InlineData(65536, 0, 100, "MissesPerSecond")]
    [InlineData(65536, 200, 0, "MissBurst")]
    public void Out_of_range_options_are_named(int capacity, int rate, int burst, string name)
    {
        var options = new ResolverOptions { CacheCapacity = capacity, MissesPerSecond = rate, MissBurst = burst };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(name, ex.ParamName);
    }
}
