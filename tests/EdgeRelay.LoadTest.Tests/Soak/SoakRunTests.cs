using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Soak;
using EdgeRelay.Testing;

namespace EdgeRelay.LoadTest.Tests.Soak;

/// <summary>
/// <c>soak</c> end to end, short: both relays in their own processes on loopback, the whole mix at a small rate
/// for 20 s. What is asserted: no error of any kind, every way of sending and receiving moved messages, the
/// samples, JSON and charts written, and the flatness check ran on every series. Its bounds are loose: in 20 s
/// the log's memory buffer is still filling and a shared machine's latency swings; the long run is the figure.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class SoakRunTests
{
    [Fact]
    public async Task A_short_soak_runs_the_whole_mix_without_errors_and_checks_flatness()
    {
        using var dir = new TempDirectory("soak-run");
        var output = dir.Combine("out");

        int exit = await LoadTestCommandLine.InvokeAsync(
        [
            "soak", "--duration", "20s", "--rate", "200", "--sample", "2s", "--addresses", "32", "--out", output,
            "--max-memory-growth", "5", "--max-heap-growth", "5", "--max-latency-ratio", "20", "--latency-slack-ms", "2000",
            "--max-cpu-ratio", "10", "--cpu-slack-pct", "100", "--min-throughput-ratio", "0.3",
        ]).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(0, exit);
        var samples = SoakCsv.Read(await File.ReadAllTextAsync(Path.Combine(output, "samples.csv")));
        Assert.InRange(samples.Count, 7, 10);
        foreach (var moved in new[] { "sends_per_s", "via_per_s", "delivered_per_s" })
        {
            Assert.True(samples[moved]!.Skip(2).All(v => v > 0), $"{moved}: {string.Join(' ', samples[moved]!)}");
        }

        foreach (var read in new[] { "b_rss_bytes", "b_private_bytes", "b_gc_heap_bytes", "b_disk_bytes", "a_rss_bytes", "a_disk_bytes", "push_p99_us", "pull_p99_us" })
        {
            Assert.True(samples[read]!.All(v => v > 0), $"{read}: {string.Join(' ', samples[read]!)}");
        }

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "soak.json")));
        var root = json.RootElement;
        Assert.Empty(root.GetProperty("errors").EnumerateObject());
        Assert.True(root.GetProperty("flat").GetBoolean());
        var checkedSeries = root.GetProperty("verdicts").EnumerateArray().Select(v => v.GetProperty("series").GetString()).ToList();
        Assert.Contains("b_rss_bytes", checkedSeries);
        Assert.Contains("b_disk_bytes", checkedSeries);
        Assert.Contains("via_p99_us", checkedSeries);
        Assert.Contains("delivered_per_s", checkedSeries);
        Assert.Equal(7, root.GetProperty("charts").GetArrayLength());
        Assert.All(Directory.GetFiles(output, "*.png"), png => Assert.True(new FileInfo(png).Length > 1000, png));
    }

    [Theory]
    [InlineData("soak")] // neither --rate nor --calibrate
    [InlineData("soak --rate 100 --calibrate")]
    [InlineData("soak --rate 100 --duration 20s --sample 10s")] // fewer than three samples
    [InlineData("soak --rate 100 --payload 8")] // no room for the marker and timestamp
    [InlineData("soak-check samples.csv --warmup-share 0.95")]
    public async Task Invalid_soak_settings_are_a_usage_error(string args) =>
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(args.Split(' ')));
}
