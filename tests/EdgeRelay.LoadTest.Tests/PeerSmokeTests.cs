using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Short runs against Redis and NATS servers the tool starts itself. They need the Debian packages
/// (<c>apt-get install redis-server nats-server</c>, which .ci/run does): without them they report as skipped,
/// not passed.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class PeerSmokeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-peers-").FullName;

    [SkippableTheory]
    [InlineData("redis", "ingest", "everysec")]
    [InlineData("redis", "ingest", "always")]
    [InlineData("redis", "pull", "everysec")]
    [InlineData("redis", "roundtrip", "everysec")]
    [InlineData("nats", "ingest", null)]
    [InlineData("nats", "pull", null)]
    [InlineData("nats", "roundtrip", null)]
    [InlineData("nats", "push", null)]
    public async Task A_short_run_against_a_peer_started_for_it_moves_messages_without_errors(string target, string scenario, string? fsync)
    {
        var server = target == "redis" ? "redis-server" : "nats-server";
        Skip.If(PeerProcess.FindExecutable(server) is null, $"{server} is not installed: apt-get install {server}");

        string[] args =
        [
            "--target", target, "--scenario", scenario, "--connections", "2", "--payload", "1024", "--duration", "1s",
            .. scenario == "pull" ? ["--warmup", "0s", "--prefill", "20000"] : new[] { "--warmup", "200ms" },
            .. fsync is null ? [] : new[] { "--redis-fsync", fsync },
        ];
        var before = ServerDirectories(server);
        var root = await RealRuns.RunAsync(_dir, args);

        // The server's CPU comes from its process id; a native server's allocations are never known.
        RealRuns.AssertCompleteRun(root, target, scenario, KnownServerUsage.Cpu);
        if (scenario == "pull")
        {
            RealRuns.AssertPullRun(root);
        }

        if (fsync is not null)
        {
            Assert.Equal($"redis (AOF {fsync})", root.GetProperty("label").GetString());
        }

        // The run killed its server by pid and removed its directory.
        Assert.Empty(ServerDirectories(server).Except(before));
    }

    [SkippableTheory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Fresh_sends_to_a_peer_go_to_its_n_keys_without_errors(string target)
    {
        var server = target == "redis" ? "redis-server" : "nats-server";
        Skip.If(PeerProcess.FindExecutable(server) is null, $"{server} is not installed: apt-get install {server}");

        var root = await RealRuns.RunAsync(
            _dir, "--target", target, "--addresses", "1000", "--fresh-ratio", "1", "--connections", "2", "--payload", "256", "--duration", "1s", "--warmup", "200ms");

        RealRuns.AssertCompleteRun(root, target, "ingest", KnownServerUsage.Cpu);
        Assert.Equal((1000, 1.0), (root.GetProperty("addresses").GetInt32(), root.GetProperty("fresh_ratio").GetDouble()));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("fresh_addresses").ValueKind); // nothing to derive
    }

    [SkippableFact]
    public async Task Redis_runs_without_automatic_aof_rewrites()
    {
        Skip.If(PeerProcess.FindExecutable("redis-server") is null, "redis-server is not installed: apt-get install redis-server");
        await using var target = new RedisTarget();
        await target.StartAsync(new RunSettings { Target = "redis" }, _ => { }, CancellationToken.None);

        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(
            new StackExchange.Redis.ConfigurationOptions { EndPoints = { target.EndPoint! }, AllowAdmin = true });
        var setting = await admin.GetServer(target.EndPoint!).ConfigGetAsync("auto-aof-rewrite-percentage");

        Assert.Equal("0", Assert.Single(setting).Value);
    }

    [SkippableFact]
    public async Task A_nats_push_receiver_acks_all_up_to_a_message_with_the_relays_window()
    {
        Skip.If(PeerProcess.FindExecutable("nats-server") is null, "nats-server is not installed: apt-get install nats-server");
        await using var target = new NatsTarget();
        await target.StartAsync(new RunSettings { Target = "nats", Scenario = "push", Connections = 1 }, _ => { }, CancellationToken.None);
        await using var receiver = await target.StartPushReceiverAsync(0, new CountingSink(), CancellationToken.None);

        await using var connection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = target.Url });
        var consumer = await new NATS.Client.JetStream.NatsJSContext(connection).GetConsumerAsync(NatsTarget.StreamName, "push-0");

        Assert.Equal(NATS.Client.JetStream.Models.ConsumerConfigAckPolicy.All, consumer.Info.Config.AckPolicy);
        Assert.Equal(1024, consumer.Info.Config.MaxAckPending);
    }

    [Fact]
    public async Task Compare_skips_a_peer_that_is_not_installed_and_says_how_to_install_it()
    {
        var markdown = Path.Combine(_dir, "compare.md");
        var json = Path.Combine(_dir, "compare.json");
        var path = Environment.GetEnvironmentVariable("PATH");
        int exit;
        try
        {
            // This collection runs alone, and nothing else in the test process starts programs from PATH. Redis
            // is looked for on PATH only (nats-server would still be found in /usr/sbin).
            Environment.SetEnvironmentVariable("PATH", _dir);
            exit = await LoadTestCommandLine.InvokeAsync(["compare", "--targets", "redis", "--duration", "1s", "--json", json, "--markdown", markdown]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }

        Assert.Equal(0, exit); // skipped rows are not failures
        var table = await File.ReadAllTextAsync(markdown);
        Assert.Contains("| redis (AOF everysec) |", table, StringComparison.Ordinal);
        Assert.Contains("| redis (AOF always) |", table, StringComparison.Ordinal);
        Assert.Contains("skipped: install with apt-get install redis-server", table, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal(0, document.RootElement.GetArrayLength()); // no run, no run object
    }

    private sealed class CountingSink : IDeliverySink
    {
        public void OnDelivered(ReadOnlySpan<byte> payload)
        {
        }

        public void OnReceiverFailed(Exception error)
        {
        }
    }

    private static string[] ServerDirectories(string server) => Directory.GetDirectories(Path.GetTempPath(), $"edgerelay-loadtest-{server}-*");

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
