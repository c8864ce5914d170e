using System.Text.Json;
using EdgeRelay.LoadTest.Cli;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// Short real runs through the command line, against the in-process targets on loopback: the generator,
/// the client, the relay (or the sink) and the JSON/markdown outputs, end to end. The relay runs in-process
/// here (<c>--relay-host in-process</c>, said on every command line because the default is its own process;
/// ServerUsageTests covers that), so every run is one process and no server figure is known.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class SmokeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-tests-").FullName;

    [Theory]
    [InlineData("edgerelay")]
    [InlineData("raw-sink")]
    [InlineData("raw-fasterlog")]
    public async Task A_short_ingest_run_sends_messages_without_errors_and_writes_every_field(string target)
    {
        var markdown = Path.Combine(_dir, target + ".md");

        var root = await RealRuns.RunAsync(
            _dir,
            "--target", target, "--scenario", "ingest", "--connections", "2", "--payload", "1024", "--duration", "1s", "--warmup", "200ms",
            "--relay-host", "in-process", "--markdown", markdown);

        RealRuns.AssertCompleteRun(root, target, "ingest");
        Assert.Equal(2, root.GetProperty("connections").GetInt32());
        Assert.Equal(1024, root.GetProperty("payload_bytes").GetInt32());
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.9, 1.1);
        Assert.Equal(root.GetProperty("messages").GetInt64(), root.GetProperty("operations").GetInt64());

        var table = (await File.ReadAllLinesAsync(markdown)).Where(l => l.Length > 0).ToArray();
        Assert.Equal(3, table.Length); // header, separator, one row
        Assert.StartsWith("| " + target + " | ingest |", table[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pull_drains_a_prefilled_relay_by_authenticated_pull_and_ack()
    {
        // 20 000 stored messages drain in well under the second asked for: the window ends when a queue runs dry.
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "pull", "--connections", "2", "--payload", "1024", "--duration", "1s", "--warmup", "0s",
            "--prefill", "20000", "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "pull");
        RealRuns.AssertPullRun(root);
        Assert.InRange(root.GetProperty("messages").GetInt64(), 1, 20_000); // never more than was stored
    }

    [Fact]
    public async Task Roundtrip_measures_sends_until_a_polling_receiver_has_them()
    {
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "roundtrip", "--connections", "2", "--payload", "1024", "--duration", "1s", "--warmup", "200ms",
            "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "roundtrip");
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.9, 1.1);
    }

    [Fact]
    public async Task Roundtrip_in_the_open_model_keeps_its_intended_rate()
    {
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "roundtrip", "--connections", "2", "--payload", "64", "--duration", "1s", "--warmup", "200ms",
            "--rate", "500", "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "roundtrip");
        Assert.InRange(root.GetProperty("messages").GetInt64(), 450, 550);
    }

    [Fact]
    public async Task Push_delivers_every_message_to_a_subscribed_receiver()
    {
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "push", "--connections", "2", "--payload", "256", "--duration", "1s", "--warmup", "200ms",
            "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "push");
        Assert.InRange(root.GetProperty("duration_s").GetDouble(), 0.9, 1.1);
    }

    [Fact]
    public async Task Push_with_a_batching_window_sets_the_policy_before_subscribing_and_still_delivers_every_message()
    {
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "push", "--connections", "2", "--payload", "256", "--duration", "1s", "--warmup", "200ms",
            "--push-window", "5ms", "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "push");
        Assert.Equal(5, root.GetProperty("push_window_ms").GetDouble());
        Assert.Contains("push batched(5 ms)", root.GetProperty("label").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_over_many_addresses_delivers_to_receivers_holding_many_subscriptions_each()
    {
        // 300 addresses over 2 connections: each receiver authenticates in two AUTH frames (256 claims at most).
        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--scenario", "push", "--connections", "2", "--addresses", "300", "--payload", "256", "--duration", "1s", "--warmup", "200ms",
            "--relay-host", "in-process");

        RealRuns.AssertCompleteRun(root, "edgerelay", "push");
        Assert.Equal(300, root.GetProperty("addresses").GetInt32());
    }

    [Fact]
    public async Task Compare_runs_each_target_and_writes_an_array_of_run_objects_and_one_table()
    {
        var json = Path.Combine(_dir, "compare.json");
        var markdown = Path.Combine(_dir, "compare.md");

        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "compare", "--targets", "raw-sink,edgerelay", "--connections", "2", "--payload", "1024", "--duration", "1s", "--warmup", "200ms",
            "--relay-host", "in-process", "--also", "none", "--json", json, "--markdown", markdown,
        ]);

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var runs = document.RootElement;
        Assert.Equal(JsonValueKind.Array, runs.ValueKind);
        Assert.Equal(["raw-sink", "edgerelay"], runs.EnumerateArray().Select(r => r.GetProperty("target").GetString()));
        foreach (var run in runs.EnumerateArray())
        {
            RealRuns.AssertCompleteRun(run, run.GetProperty("target").GetString()!, "ingest");
            Assert.Equal(2, run.GetProperty("connections").GetInt32()); // the same settings for every row
            Assert.Equal(1024, run.GetProperty("payload_bytes").GetInt32());
        }

        var table = (await File.ReadAllLinesAsync(markdown)).Where(l => l.StartsWith('|')).ToArray();
        Assert.Equal(4, table.Length); // header, separator, a row per target; then the footnotes
        Assert.Contains("vs raw-sink", table[0], StringComparison.Ordinal);
        Assert.StartsWith("| raw-sink |", table[2], StringComparison.Ordinal);
        Assert.EndsWith("| 1.00x |", table[2], StringComparison.Ordinal);
        Assert.StartsWith("| edgerelay |", table[3], StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
