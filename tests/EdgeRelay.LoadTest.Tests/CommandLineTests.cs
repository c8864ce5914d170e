using EdgeRelay.LoadTest.Cli;

namespace EdgeRelay.LoadTest.Tests;

public class CommandLineTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("20s", 20_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7", 7_000)] // a bare number is seconds
    public void Durations_parse_as_operators_type_them(string text, int milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1s")]
    [InlineData("10 parsecs")]
    [InlineData("1e400s")]
    public void Nonsense_durations_are_refused(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Fact]
    public void Defaults_are_valid_and_every_bad_value_is_named()
    {
        Assert.Empty(new RunSettings().Validate());

        var problems = new RunSettings
        {
            Target = "mongodb",
            Connections = 0,
            PayloadBytes = 0,
            InFlight = 0,
            Addresses = 0,
            Duration = TimeSpan.FromHours(2),
            Warmup = TimeSpan.FromSeconds(-1),
            Rate = 0,
            Endpoint = "nohost",
        }.Validate();

        foreach (var option in new[] { "--target", "--connections", "--payload", "--in-flight", "--addresses", "--duration", "--warmup", "--rate", "--endpoint" })
        {
            Assert.Contains(problems, p => p.StartsWith(option + ":", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("run", "--connections", "0")]
    [InlineData("run", "--duration", "2h")]
    [InlineData("run", "--duration", "soon")]
    [InlineData("run", "--target", "mongodb")]
    [InlineData("run", "--scenario", "pull", "--rate", "1000")]
    [InlineData("run", "--redis-fsync", "never")]
    [InlineData("run", "--relay-host", "elsewhere")]
    [InlineData("run", "--metrics", "http://127.0.0.1:7401/metrics")] // a relay started for the run needs no --metrics
    [InlineData("run", "--target", "redis", "--endpoint", "127.0.0.1:6379", "--metrics", "http://127.0.0.1:7401/metrics")]
    [InlineData("run", "--endpoint", "127.0.0.1:7400", "--metrics", "127.0.0.1:7401")]
    [InlineData("run", "--scenario", "push", "--push-window", "soon")]
    [InlineData("compare", "--targets", "raw-sink,mongodb")]
    [InlineData("compare", "--payload", "0")]
    public async Task Invalid_usage_exits_with_1_before_starting_anything(params string[] args)
    {
        Assert.Equal(1, await LoadTestCommandLine.InvokeAsync(args));
    }

    [Theory]
    [InlineData("raw-sink", "push")]
    [InlineData("raw-sink", "pull")]
    [InlineData("raw-sink", "roundtrip")]
    public void A_target_without_the_capability_is_refused_before_anything_starts(string target, string scenario)
    {
        var problems = new RunSettings { Target = target, Scenario = scenario }.Validate();

        var problem = Assert.Single(problems);
        Assert.Contains("not supported by this target yet", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nats", "push")]
    [InlineData("nats", "pull")]
    [InlineData("redis", "roundtrip")]
    [InlineData("edgerelay", "pull")]
    [InlineData("edgerelay", "roundtrip")]
    [InlineData("edgerelay", "push")]
    public void Supported_combinations_validate(string target, string scenario)
    {
        Assert.Empty(new RunSettings { Target = target, Scenario = scenario }.Validate());
    }

    [Theory]
    [InlineData("edgerelay", "ingest", 20)]
    [InlineData("nats", "push", 20)]
    [InlineData("edgerelay", "push", 0.5)]
    [InlineData("edgerelay", "push", 60_001)]
    public void A_push_window_is_refused_outside_relay_push_and_outside_whole_milliseconds_up_to_a_minute(string target, string scenario, double milliseconds)
    {
        var problems = new RunSettings { Target = target, Scenario = scenario, PushWindow = TimeSpan.FromMilliseconds(milliseconds) }.Validate();

        Assert.Contains(problems, p => p.StartsWith("--push-window:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_push_window_binds_from_the_command_line_and_validates_for_relay_push()
    {
        var o = new SharedOptions();
        var command = new System.CommandLine.Command("run")
        {
            o.Scenario, o.Connections, o.Payload, o.Duration, o.Warmup, o.InFlight, o.Rate, o.Addresses, o.FreshRatio, o.FreshPool, o.Seed, o.Prefill, o.Batch,
            o.RelayHost, o.RelaySetting, o.MaxErrorRate, o.PushWindow,
        };
        var settings = o.Bind(command.Parse(["--scenario", "push", "--push-window", "20ms"]));

        Assert.Equal(TimeSpan.FromMilliseconds(20), settings.PushWindow);
        Assert.Empty(settings.Validate());
        Assert.Null(o.Bind(command.Parse(["--scenario", "push"])).PushWindow);
    }

    [Fact]
    public void Options_that_mean_nothing_to_a_scenario_are_named()
    {
        var problems = new RunSettings { Scenario = "roundtrip", Addresses = 4, PayloadBytes = 4 }.Validate();

        Assert.Contains(problems, p => p.StartsWith("--addresses:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--payload:", StringComparison.Ordinal));
    }

    [Fact]
    public void Receivers_get_a_queue_per_connection_and_ingest_spreads_over_addresses()
    {
        Assert.Equal(3, new RunSettings { Scenario = "ingest", Addresses = 3, Connections = 8 }.Queues);
        Assert.Equal(8, new RunSettings { Scenario = "pull", Connections = 8 }.Queues);
    }

    [Fact]
    public void Push_subscribes_to_every_address_it_is_given_and_at_least_one_per_connection()
    {
        Assert.Equal(8, new RunSettings { Scenario = "push", Connections = 8 }.Queues);
        Assert.Equal(10_000, new RunSettings { Scenario = "push", Addresses = 10_000, Connections = 8 }.Queues);
        Assert.DoesNotContain(new RunSettings { Scenario = "push", Addresses = 10_000 }.Validate(), p => p.StartsWith("--addresses:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_prefill_covers_the_window_within_its_memory_budget()
    {
        var settings = new RunSettings { Scenario = "pull", Warmup = TimeSpan.FromSeconds(2), Duration = TimeSpan.FromSeconds(10), PayloadBytes = 1024 };

        Assert.Equal(750_000, Scenarios.PullScenario.DefaultPrefill(settings, 50_000)); // 50 k/s x 12 s x 1.25
        Assert.Equal(1L << 20, Scenarios.PullScenario.DefaultPrefill(settings, 1_000_000)); // 1 GiB of 1 KiB payloads
        Assert.Equal(65_536, Scenarios.PullScenario.DefaultPrefill(settings with { PayloadBytes = 16_384 }, 1_000_000));
        Assert.Equal(8, Scenarios.PullScenario.DefaultPrefill(settings, 0.01)); // at least one per queue
    }

    [Fact]
    public void Compare_rows_are_selected_by_id_and_redis_means_both_fsync_policies()
    {
        Assert.True(Engine.CompareRow.TrySelect(["nats", "redis", "raw-sink"], out var rows, out _));
        Assert.Equal(["raw-sink", "redis-everysec", "redis-always", "nats"], rows.Select(r => r.Id)); // always in the table's order
        Assert.False(Engine.CompareRow.TrySelect(["edgerelay", "kafka"], out _, out var unknown));
        Assert.Equal("kafka", unknown);
    }

    [Fact]
    public async Task A_remote_endpoint_needs_allow_remote()
    {
        var error = await Assert.ThrowsAsync<LoadTestException>(() => Targets.Endpoints.ResolveAsync("192.0.2.1:7400", allowRemote: false, CancellationToken.None));
        Assert.Contains("--allow-remote", error.Message, StringComparison.Ordinal);
        var allowed = await Targets.Endpoints.ResolveAsync("192.0.2.1:7400", allowRemote: true, CancellationToken.None);
        Assert.Equal(7400, allowed.Port);
    }
}
