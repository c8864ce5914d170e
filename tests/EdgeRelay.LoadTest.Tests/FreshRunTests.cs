using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Server;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Real runs with fresh addresses: through a relay that resolves them (each SEND a cache miss and an HPKE
/// open), and through one whose budget of opens turns nearly every SEND into RATE_LIMITED, which must end in a
/// non-zero exit rather than in a throughput figure.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class FreshRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-fresh-").FullName;

    [Fact]
    public async Task Half_of_the_sends_on_fresh_addresses_are_resolved_by_the_relay_and_the_source_is_reported()
    {
        // 200 sends a second in all, 100 of them fresh, over two connections: within the relay's default budget
        // of 200 opens a second per connection, so every SEND must succeed.
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--addresses", "200", "--fresh-ratio", "0.5", "--fresh-pool", "1024", "--seed", "3",
            "--connections", "2", "--payload", "256", "--rate", "200", "--duration", "1s", "--warmup", "200ms", "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "ingest");
        Assert.Equal((200, 0.5, 3), (root.GetProperty("addresses").GetInt32(), root.GetProperty("fresh_ratio").GetDouble(), root.GetProperty("seed").GetInt32()));
        Assert.InRange(root.GetProperty("messages").GetInt64(), 180, 220);
        var fresh = root.GetProperty("fresh_addresses");
        Assert.Equal(1024, fresh.GetProperty("pre_derived").GetInt64());
        Assert.Equal(0, fresh.GetProperty("derived_during_run").GetInt64()); // ~120 of 1,024 used: never below a quarter
        Assert.Equal(0, fresh.GetProperty("waits").GetInt64());
        Assert.Contains("pre-derived before the warm-up", fresh.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_window_of_rate_limited_refusals_is_reported_by_code_and_exits_with_3()
    {
        // A relay allowing one HPKE open a second per connection: with every SEND on a fresh address, nearly
        // all are refused, quickly, which once looked like a fast run.
        var options = EdgeRelayTarget.StartedRelayOptions(Path.Combine(_dir, "relay"), "127.0.0.1:0", "127.0.0.1:0");
        Directory.CreateDirectory(options.Storage.DataDir);
        options.Relay.ResolveMissesPerSecond = 1;
        options.Relay.ResolveMissBurst = 1;
        await using var relay = await RelayHost.StartAsync(options);
        var json = Path.Combine(_dir, "refused.json");

        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "run", "--target", "edgerelay", "--endpoint", relay.RelayEndPoint.ToString(), "--fresh-ratio", "1", "--fresh-pool", "1024",
            "--connections", "1", "--in-flight", "4", "--payload", "64", "--duration", "1s", "--warmup", "0s", "--json", json,
        ]);

        Assert.Equal(LoadTestCommandLine.ErrorRateExitCode, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;
        Assert.True(root.GetProperty("error_dominated").GetBoolean());
        long refused = root.GetProperty("rate_limited").GetInt64();
        Assert.True(refused > root.GetProperty("messages").GetInt64(), $"{refused} refusals");
        Assert.Equal(refused, root.GetProperty("errors").GetProperty("RATE_LIMITED").GetInt64());
        Assert.InRange(root.GetProperty("error_share").GetDouble(), 0.5, 1.0);

        // Refused addresses were never opened, so they went back to the pool: none had to be derived again.
        Assert.Equal(0, root.GetProperty("fresh_addresses").GetProperty("waits").GetInt64());
    }

    [Fact]
    public async Task Compare_exits_with_3_when_a_row_is_refusals_and_shows_no_rate_for_it()
    {
        var markdown = Path.Combine(_dir, "compare.md");

        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "compare", "--targets", "edgerelay", "--relay-host", "in-process", "--fresh-ratio", "1", "--fresh-pool", "1024",
            // A relay the run starts is sent fresh addresses by connections with a peer token: hold its peer budget.
            "--relay-setting", "Relay:PeerResolveMissesPerSecond=1", "--relay-setting", "Relay:PeerResolveMissBurst=1",
            "--connections", "1", "--in-flight", "4", "--payload", "64", "--duration", "1s", "--warmup", "0s", "--also", "none", "--markdown", markdown,
        ]);

        Assert.Equal(LoadTestCommandLine.ErrorRateExitCode, exit);
        var row = (await File.ReadAllLinesAsync(markdown)).Single(l => l.StartsWith("| edgerelay (Relay:PeerResolveMissesPerSecond=1", StringComparison.Ordinal));
        Assert.Contains("| not a figure: ", row, StringComparison.Ordinal);
        Assert.Contains("RATE_LIMITED", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_budget_of_opens_lifted_every_fresh_send_of_a_relay_in_its_own_process_is_resolved()
    {
        // Closed model, every SEND fresh, from connections that present a peer token (the generator makes one
        // in the relay's token file): an anonymous connection's budget (200 opens a second) would refuse most of
        // them, so a run without a single refusal shows the token, and the settings, reached the child process.
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--addresses", "100", "--fresh-ratio", "1", "--fresh-pool", "4096", "--connections", "2", "--in-flight", "16",
            "--payload", "256", "--duration", "1s", "--warmup", "200ms",
            "--relay-setting", "Relay:ResolveMissesPerSecond=1000000", "--relay-setting", "Relay:ResolveMissBurst=1000000");

        RealRuns.AssertCompleteRun(root, "edgerelay", "ingest", KnownServerUsage.Both);
        Assert.Equal("edgerelay (Relay:ResolveMissesPerSecond=1000000, Relay:ResolveMissBurst=1000000)", root.GetProperty("label").GetString());
        Assert.True(root.GetProperty("messages").GetInt64() > 400, "fewer fresh SENDs than the default budget allows");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
