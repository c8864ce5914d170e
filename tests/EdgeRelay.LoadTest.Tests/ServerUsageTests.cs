using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// The server's CPU and allocations per message: the relay in its own process, a relay at --endpoint read
/// through --metrics, and the pieces (the metrics parser, the per-message arithmetic). Redis and NATS CPU is
/// checked by <see cref="PeerSmokeTests"/>, which skip when the servers are not installed.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed partial class ServerUsageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-usage-").FullName;

    [Fact]
    public async Task The_relay_in_its_own_process_reports_its_cpu_and_allocations_per_message_and_is_gone_after()
    {
        var lines = new List<string>();
        var settings = new RunSettings
        {
            Target = TargetCatalog.EdgeRelay,
            RelayHost = EdgeRelayTarget.HostProcess,
            Connections = 2,
            Duration = TimeSpan.FromSeconds(1),
            Warmup = TimeSpan.FromMilliseconds(200),
        };

        var result = await LoadRunner.RunAsync(settings, new PlainProgressDisplay(TextWriter.Null), lines.Add, CancellationToken.None);

        using var document = JsonDocument.Parse(ResultWriters.ToJson(result));
        RealRuns.AssertCompleteRun(document.RootElement, "edgerelay", "ingest", KnownServerUsage.Both);
        var started = lines.Select(l => RelayChildLine().Match(l)).Single(m => m.Success);
        int pid = int.Parse(started.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(Environment.ProcessId, pid);
        Assert.False(IsRunning(pid), $"the relay child {pid} outlived the run");
        Assert.False(Directory.Exists(started.Groups[2].Value), "the relay child's data folder outlived the run");
    }

    [Fact]
    public async Task A_relay_at_an_endpoint_is_measured_through_its_metrics()
    {
        await using var relay = await RelayProcess.StartAsync(EdgeRelayTarget.StartedRelayOptions, CancellationToken.None);
        var endpoint = relay.EndPoint.ToString();

        var root = await RealRuns.RunAsync(
            _dir,
            "--target", "edgerelay", "--endpoint", endpoint, "--metrics", RelayProcess.MetricsUrl(relay).ToString(),
            "--connections", "2", "--payload", "1024", "--duration", "1s", "--warmup", "200ms");

        RealRuns.AssertCompleteRun(root, "edgerelay", "ingest", KnownServerUsage.Both);
        Assert.Equal(endpoint, root.GetProperty("endpoint").GetString());
    }

    [Fact]
    public async Task Metrics_on_another_machine_need_allow_remote_like_the_endpoint()
    {
        var settings = new RunSettings { Endpoint = "127.0.0.1:7400", Metrics = "http://192.0.2.1:7401/metrics", Duration = TimeSpan.FromSeconds(1) };

        var error = await Assert.ThrowsAsync<LoadTestException>(() => LoadRunner.RunAsync(settings, new PlainProgressDisplay(TextWriter.Null), _ => { }, CancellationToken.None));

        Assert.Contains("--metrics", error.Message, StringComparison.Ordinal);
        Assert.Contains("--allow-remote", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_metrics_parser_reads_unlabelled_series_and_says_null_for_the_rest()
    {
        const string Text = """
            # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total_extra 99
            process_cpu_seconds_total 12.5
            # TYPE edgerelay_process_allocated_bytes_total counter
            edgerelay_process_allocated_bytes_total{} 1.5E+09 1700000000000
            edgerelay_frames_received_total{command="send"} 5
            edgerelay_pending_bytes NaN
            """;

        Assert.Equal(12.5, PrometheusText.Value(Text, RelayMetricsScraper.CpuSeries));
        Assert.Equal(1.5e9, PrometheusText.Value(Text, RelayMetricsScraper.AllocatedSeries));
        Assert.Null(PrometheusText.Value(Text, "edgerelay_frames_received_total")); // labelled only
        Assert.Null(PrometheusText.Value(Text, "edgerelay_pending_bytes")); // not a number
        Assert.Null(PrometheusText.Value(Text, "process_cpu")); // a prefix is not a name
        Assert.Null(PrometheusText.Value(Text, "edgerelay_sends_accepted_total")); // missing
    }

    [Fact]
    public async Task A_scrape_that_fails_is_unknown_with_the_reason()
    {
        using var scraper = new RelayMetricsScraper(new Uri($"http://127.0.0.1:{PeerProcess.FreeLoopbackPorts(1)[0]}/metrics"));

        var sample = await scraper.ScrapeAsync(CancellationToken.None);

        Assert.Null(sample.CpuTime);
        Assert.Null(sample.AllocatedBytes);
        Assert.Contains(scraper.Url.ToString(), sample.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_message_figures_are_the_growth_over_the_messages_and_null_when_unknown()
    {
        var from = new ServerUsageSample(TimeSpan.FromSeconds(2), 1_000);
        var to = new ServerUsageSample(TimeSpan.FromSeconds(3), 501_000);

        Assert.Equal((100.0, 50.0), LoadRunner.ServerUsagePerMessage(from, to, 10_000)); // 1 s = 10^6 µs over 10^4 messages
        Assert.Equal((null, null), LoadRunner.ServerUsagePerMessage(from, to, 0));
        Assert.Equal((null, null), LoadRunner.ServerUsagePerMessage(null, to, 10_000));
        Assert.Equal((100.0, null), LoadRunner.ServerUsagePerMessage(from, to with { AllocatedBytes = null }, 10_000));
        Assert.Equal((null, 50.0), LoadRunner.ServerUsagePerMessage(from, to with { CpuTime = TimeSpan.FromSeconds(1) }, 10_000)); // went backwards: restarted
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }

    /// <summary>The target's description of its child, as logged when the run starts.</summary>
    [GeneratedRegex(@"^edgerelay pid (\d+) on \S+ \(data in (.+)\):")]
    private static partial Regex RelayChildLine();
}
