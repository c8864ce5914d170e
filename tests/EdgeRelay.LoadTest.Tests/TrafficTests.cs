using System.CommandLine;
using EdgeRelay.Addressing;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Realistic traffic: <c>--addresses</c> up to 100,000, <c>--fresh-ratio</c> with its seeded per-SEND draw,
/// the pool of fresh addresses, and <c>compare --also</c>. No sockets here; the real runs are in
/// <see cref="FreshRunTests"/>.
/// </summary>
public sealed class TrafficTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-traffic-").FullName;
    private ServiceKey? _key;

    [Fact]
    public void The_options_bind_from_the_command_line()
    {
        var o = new SharedOptions();
        var command = new Command("run") { o.Addresses, o.FreshRatio, o.FreshPool, o.Seed };

        var settings = o.Bind(command.Parse(["--addresses", "100000", "--fresh-ratio", "0.25", "--fresh-pool", "4096", "--seed", "7"]));
        var defaults = o.Bind(command.Parse([]));

        Assert.Equal((100_000, 0.25, 4096, 7), (settings.Addresses, settings.FreshRatio, settings.FreshPool, settings.Seed));
        Assert.Equal((1, 0.0, 1 << 18, 1), (defaults.Addresses, defaults.FreshRatio, defaults.FreshPool, defaults.Seed));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void A_fresh_ratio_from_0_to_1_at_100000_addresses_is_valid_for_every_target(double ratio)
    {
        foreach (var target in TargetCatalog.Names)
        {
            Assert.Empty(new RunSettings { Target = target, Addresses = 100_000, FreshRatio = ratio }.Validate());
        }
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_fresh_ratio_outside_0_to_1_is_named(double ratio)
    {
        var problem = Assert.Single(new RunSettings { FreshRatio = ratio }.Validate());
        Assert.StartsWith("--fresh-ratio:", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--addresses", 100_001)]
    [InlineData("--fresh-pool", RunSettings.MinFreshPool - 1)]
    [InlineData("--fresh-pool", RunSettings.MaxFreshPool + 1)]
    public void Counts_out_of_range_are_named(string option, int value)
    {
        var settings = option == "--addresses" ? new RunSettings { Addresses = value } : new RunSettings { FreshPool = value };
        var problem = Assert.Single(settings.Validate());
        Assert.StartsWith(option + ":", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pull")]
    [InlineData("roundtrip")]
    [InlineData("push")]
    public void Fresh_addresses_are_for_ingest_only(string scenario)
    {
        var problem = Assert.Single(new RunSettings { Scenario = scenario, FreshRatio = 0.5 }.Validate());
        Assert.StartsWith("--fresh-ratio: applies to ingest only", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--fresh-ratio", "1.5")]
    [InlineData("run", "--fresh-ratio", "-1")]
    [InlineData("run", "--fresh-ratio", "half")]
    [InlineData("run", "--fresh-pool", "10")]
    [InlineData("run", "--addresses", "100001")]
    [InlineData("run", "--scenario", "push", "--fresh-ratio", "0.5")]
    [InlineData("run", "--relay-setting", "Relay:Nope=1")]
    [InlineData("compare", "--relay-setting", "Relay:ResolveMissesPerSecond=0")]
    [InlineData("compare", "--also", "100000")]
    [InlineData("compare", "--also", "100000:x")]
    [InlineData("compare", "--also", "200000:1")]
    [InlineData("compare", "--also", "100000:2")]
    public async Task Invalid_traffic_exits_with_1_before_starting_anything(params string[] args)
    {
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(args));
    }

    [Fact]
    public void An_ingest_comparison_also_runs_the_realistic_traffic_unless_told_otherwise()
    {
        Assert.Equal(["100000:1"], CompareCommand.AlsoOrDefault(null, ScenarioCatalog.Ingest));
        Assert.Equal(["100000:1"], CompareCommand.AlsoOrDefault([], ScenarioCatalog.Ingest));
        Assert.Empty(CompareCommand.AlsoOrDefault(["none"], ScenarioCatalog.Ingest));
        Assert.Equal(["1000:0.5"], CompareCommand.AlsoOrDefault(["1000:0.5"], ScenarioCatalog.Ingest));
        Assert.Empty(CompareCommand.AlsoOrDefault(null, ScenarioCatalog.Push)); // queues per connection: no address count to vary
        Assert.True(TrafficMix.TryParse(CompareCommand.RealisticTraffic, out var mix));
        Assert.Equal((100_000, 1.0), (mix.Addresses, mix.FreshRatio));
    }

    [Theory]
    [InlineData("100000:1", 100_000, 1.0)]
    [InlineData("1:0", 1, 0.0)]
    [InlineData("10000:0.25", 10_000, 0.25)]
    public void A_traffic_mix_is_addresses_colon_fresh(string text, int addresses, double fresh)
    {
        Assert.True(TrafficMix.TryParse(text, out var mix));
        Assert.Equal(new TrafficMix(addresses, fresh), mix);
        Assert.Equal((addresses, fresh), (mix.ApplyTo(new RunSettings()).Addresses, mix.ApplyTo(new RunSettings()).FreshRatio));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(1.0)]
    public void The_fresh_share_of_a_seeded_draw_is_the_ratio(double ratio)
    {
        const int Sends = 200_000;
        int fresh = 0;
        for (int connection = 0; connection < 4; connection++)
        {
            var mix = new FreshMix(seed: 42, connection, ratio);
            for (long sequence = 0; sequence < Sends / 4; sequence++)
            {
                fresh += mix.IsFresh(sequence) ? 1 : 0;
            }
        }

        // A binomial share over 200,000 draws: its standard deviation is at most 0.0012; 0.005 is over 4 of them.
        Assert.InRange((double)fresh / Sends, ratio - 0.005, ratio + 0.005);
        if (ratio is 0 or 1)
        {
            Assert.Equal(ratio * Sends, fresh);
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_mix_and_another_seed_or_connection_another()
    {
        static bool[] Draw(int seed, int connection) =>
            [.. Enumerable.Range(0, 10_000).Select(i => new FreshMix(seed, connection, 0.5).IsFresh(i))];

        Assert.Equal(Draw(1, 0), Draw(1, 0));
        Assert.NotEqual(Draw(1, 0), Draw(2, 0));
        Assert.NotEqual(Draw(1, 0), Draw(1, 1));

        // Whatever order concurrent operations ask in, a sequence number always gets the same answer.
        var mix = new FreshMix(1, 3, 0.5);
        var forward = Enumerable.Range(0, 1000).Select(i => mix.IsFresh(i)).ToArray();
        var backward = Enumerable.Range(0, 1000).Reverse().Select(i => mix.IsFresh(i)).Reverse().ToArray();
        Assert.Equal(forward, backward);
    }

    [Fact]
    public async Task The_pool_hands_out_each_address_once_for_its_card_and_reuses_only_what_the_relay_never_opened()
    {
        var (resolver, cards) = Relay(3);
        using var pool = FreshAddressPool.Create(cards, RunSettings.MinFreshPool, TimeSpan.FromHours(1), CancellationToken.None);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var limiter = resolver.CreateLimiter(1, 0);

        var taken = new List<int>();
        for (int i = 0; i < pool.Capacity; i++)
        {
            int slot = await pool.TakeAsync(CancellationToken.None);
            taken.Add(slot);
            Assert.True(seen.Add(Convert.ToHexString(pool.Address(slot).Span)), "an address was handed out twice");
            Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(pool.Address(slot).Span, ref limiter, 0, 0, out var aid));
            Assert.Equal(cards[pool.Queue(slot)].Aid, aid);
        }

        // Taken in turn, the addresses cover the cards evenly.
        Assert.Equal(100, taken.Take(300).Count(s => pool.Queue(s) == 1));

        // Refused before its open (RATE_LIMITED): the same address serves the next SEND.
        var refused = taken[0];
        var bytes = pool.Address(refused).ToArray();
        pool.Return(refused, unused: true);
        int again = await pool.TakeAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(refused, again);
        Assert.Equal(bytes, pool.Address(again).ToArray());
        Assert.Equal(0, pool.Stats.Waits);
    }

    [Fact]
    public async Task Spent_addresses_are_derived_anew_and_a_send_that_found_none_ready_is_counted_as_a_wait()
    {
        var (resolver, cards) = Relay(1);
        using var pool = FreshAddressPool.Create(cards, RunSettings.MinFreshPool, TimeSpan.FromHours(1), CancellationToken.None);
        var first = new Dictionary<int, byte[]>();
        for (int i = 0; i < pool.Capacity; i++)
        {
            int slot = await pool.TakeAsync(CancellationToken.None);
            first[slot] = pool.Address(slot).ToArray();
        }

        // Nothing ready: the next SEND waits, and the wait is counted, until a spent slot is derived anew.
        var waiting = pool.TakeAsync(CancellationToken.None).AsTask();
        Assert.Equal(1, pool.Stats.Waits);
        pool.Return(first.Keys.First(), unused: false);
        int slotAgain = await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(first.Keys.First(), slotAgain);
        Assert.NotEqual(first[slotAgain], pool.Address(slotAgain).ToArray()); // a new address, not the spent one
        var limiter = resolver.CreateLimiter(1, 0);
        Assert.Equal(ResolveStatus.Resolved, resolver.Resolve(pool.Address(slotAgain).Span, ref limiter, 0, 0, out var aid));
        Assert.Equal(cards[0].Aid, aid);
        Assert.Equal(1, pool.Stats.DerivedDuringRun);
        Assert.StartsWith("generator-bound: 1 SENDs waited", pool.Stats.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void The_source_line_says_whether_the_generator_kept_ahead()
    {
        Assert.Equal("1,024 pre-derived before the warm-up; none derived during the run", new FreshAddressStats(1024, 1024, 0, 0).Source);
        Assert.Contains("5 more derived during the run", new FreshAddressStats(1024, 1024, 5, 0).Source, StringComparison.Ordinal);
        Assert.StartsWith("generator-bound: 3 SENDs waited", new FreshAddressStats(1024, 1024, 5, 3).Source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relay_setting_changes_the_started_relays_option_and_every_mistake_is_named()
    {
        var options = EdgeRelayTarget.StartedRelayOptions("data", "127.0.0.1:0", "127.0.0.1:0");
        Assert.Null(RelaySettings.Apply(options, "Relay:ResolveMissesPerSecond=1000000"));
        Assert.Null(RelaySettings.Apply(options, "relay:resolvemissburst=5000"));
        Assert.Equal((1_000_000, 5000), (options.Relay.ResolveMissesPerSecond, options.Relay.ResolveMissBurst));
        Assert.Equal(["--Relay:ResolveMissesPerSecond=1000000"], RelaySettings.Arguments(["Relay:ResolveMissesPerSecond=1000000"]));

        Assert.Empty(new RunSettings { RelaySettings = ["Relay:ResolveMissesPerSecond=1000000"] }.Validate());
        Assert.Contains("not Section:Key=Value", Assert.Single(new RunSettings { RelaySettings = ["ResolveMissesPerSecond=1"] }.Validate()), StringComparison.Ordinal);
        Assert.Contains("is not a relay option", Assert.Single(new RunSettings { RelaySettings = ["Relay:Nope=1"] }.Validate()), StringComparison.Ordinal);
        Assert.Contains("is not a value for", Assert.Single(new RunSettings { RelaySettings = ["Relay:ResolveMissBurst=many"] }.Validate()), StringComparison.Ordinal);
        Assert.Contains("the relay refuses it: Relay:ResolveMissesPerSecond", Assert.Single(new RunSettings { RelaySettings = ["Relay:ResolveMissesPerSecond=0"] }.Validate()), StringComparison.Ordinal);
        Assert.Contains(
            "not to one at --endpoint",
            Assert.Single(new RunSettings { Endpoint = "127.0.0.1:7400", RelaySettings = ["Relay:ResolveMissBurst=5"] }.Validate()),
            StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _key?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A relay's resolver with a real service key (no miss budget to speak of), and cards issued by it.</summary>
    private (AddressResolver Resolver, AddressCard[] Cards) Relay(int cards)
    {
        var key = _key ??= ServiceKey.LoadOrCreate(_dir);
        var resolver = new AddressResolver(key, new ResolverOptions { MissesPerSecond = 1_000_000, MissBurst = 1_000_000 });
        var issued = Enumerable.Range(0, cards)
            .Select(_ => new AddressCard(AddressId.NewRandom(), DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds(), key.PublicKey.Span, "127.0.0.1:7400"))
            .ToArray();
        return (resolver, issued);
    }
}
