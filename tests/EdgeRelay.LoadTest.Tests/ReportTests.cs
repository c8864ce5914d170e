using System.Text.Json;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// What the reports say about realistic traffic and about runs that errors dominated: every table names its
/// addresses and fresh share, the client's CPU stands next to the server's, and a window of refusals is
/// never shown as a throughput or a latency.
/// </summary>
public sealed class ReportTests
{
    [Theory]
    [InlineData(1000, 0, false)]
    [InlineData(1000, 999, false)]
    [InlineData(1000, 1000, true)] // as many failures as successes
    [InlineData(10, 5000, true)]
    [InlineData(0, 0, true)] // nothing succeeded: nothing measured
    [InlineData(0, 3, true)]
    public void A_window_with_at_least_as_many_errors_as_successes_is_error_dominated(long successes, long errors, bool dominated)
    {
        Assert.Equal(dominated, LoadRunner.IsErrorDominated(successes, errors));
    }

    [Fact]
    public void The_error_share_is_failures_over_all_operations()
    {
        Assert.Equal(0.25, LoadRunner.ErrorShare(300, 100));
        Assert.Equal(0, LoadRunner.ErrorShare(0, 0));
        Assert.Equal(1, LoadRunner.ErrorShare(0, 7));
    }

    [Fact]
    public void The_compare_table_states_addresses_fresh_share_and_both_cpus_on_every_row_and_says_what_fresh_means_to_peers()
    {
        var settings = new RunSettings { PayloadBytes = 1024 };
        var outcomes = new List<CompareOutcome>
        {
            Outcome("raw-sink", Result("raw-sink", 1, 0, 400_000)),
            Outcome("edgerelay", Result("edgerelay", 1, 0, 200_000)),
            Outcome("redis-always", Result("redis (AOF always)", 100_000, 1, 100_000), new TrafficMix(100_000, 1)),
            Outcome("edgerelay", Dominated(Result("edgerelay", 100_000, 1, 1_600)), new TrafficMix(100_000, 1)),
            new CompareOutcome(Row("nats"), null, "skipped: install with apt-get install nats-server", Failed: false) { Mix = new TrafficMix(100_000, 1) },
        };

        var lines = CompareReport.ToMarkdown(outcomes, settings).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var header = Cells(lines[0]);
        var rows = lines.Skip(2).TakeWhile(l => l.StartsWith('|')).Select(Cells).ToArray();

        foreach (var column in new[] { "addresses", "fresh", "msgs/s", "server CPU µs/msg", "client CPU µs/msg", "errors" })
        {
            Assert.Contains(column, header);
        }

        Assert.Equal(5, rows.Length);
        string Cell(int row, string column) => rows[row][Array.IndexOf(header, column)];
        Assert.Equal(("1", "0%"), (Cell(1, "addresses"), Cell(1, "fresh")));
        Assert.Equal(("100,000", "100%"), (Cell(2, "addresses"), Cell(2, "fresh")));
        Assert.Equal(("100,000", "100%"), (Cell(4, "addresses"), Cell(4, "fresh"))); // a skipped row too
        Assert.Equal("200,000", Cell(1, "msgs/s"));
        Assert.Equal("0.50x", Cell(1, "vs raw-sink"));
        Assert.Equal(("12.5", "20.0"), (Cell(1, "server CPU µs/msg"), Cell(1, "client CPU µs/msg")));

        // The row of refusals: no throughput, no latency, no ratio; the refusals by name.
        Assert.StartsWith("not a figure: ", Cell(3, "msgs/s"), StringComparison.Ordinal);
        Assert.Equal(["-", "-", "-"], new[] { Cell(3, "p50 µs"), Cell(3, "p99 µs"), Cell(3, "vs raw-sink") });
        Assert.Contains("RATE_LIMITED 90000", Cell(3, "errors"), StringComparison.Ordinal);

        var footnote = string.Join('\n', lines.SkipWhile(l => l.StartsWith('|') || l.Length == 0 || !l.StartsWith('-')));
        Assert.Contains("same N keys", footnote, StringComparison.Ordinal);
        Assert.Contains("RATE_LIMITED", footnote, StringComparison.Ordinal);
        Assert.Contains("fresh addresses, edgerelay at 100,000 addresses: 262,144 pre-derived", footnote, StringComparison.Ordinal);
    }

    [Fact]
    public void The_terminal_table_has_the_traffic_columns_too()
    {
        var outcomes = new List<CompareOutcome> { Outcome("edgerelay", Result("edgerelay", 100_000, 1, 9_000), new TrafficMix(100_000, 1)) };
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No });
        console.Profile.Width = 240;

        console.Write(CompareReport.BuildTable(outcomes, new RunSettings()));
        var text = writer.ToString();

        Assert.Contains("addr", text, StringComparison.Ordinal);
        Assert.Contains("fresh", text, StringComparison.Ordinal);
        Assert.Contains("cli CPU µs", text, StringComparison.Ordinal);
        Assert.Contains("100,000", text, StringComparison.Ordinal);
        Assert.Contains("100%", text, StringComparison.Ordinal);
    }

    [Fact]
    public void What_an_ack_means_is_said_once_per_target_whatever_the_traffic()
    {
        var outcomes = new List<CompareOutcome>
        {
            Outcome("edgerelay", Result("edgerelay", 1, 0, 200_000)),
            Outcome("edgerelay", Result("edgerelay", 100_000, 1, 9_000), new TrafficMix(100_000, 1)),
        };

        var legend = CompareReport.DurabilityLegend(outcomes);

        Assert.Single(legend.Split(Environment.NewLine), l => l.StartsWith("  edgerelay:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_without_a_measured_success_has_no_latency_rather_than_zero()
    {
        var result = Dominated(Result("edgerelay", 1, 1, 0)) with { Messages = 0, Operations = 0, MessagesPerSecond = 0 };

        using var json = JsonDocument.Parse(ResultWriters.ToJson(result));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("latency_us").ValueKind);
        Assert.True(json.RootElement.GetProperty("error_dominated").GetBoolean());
        Assert.Equal(90_000, json.RootElement.GetProperty("rate_limited").GetInt64());
        var row = Cells(ResultWriters.ToMarkdown(result).Split('\n')[2]);
        Assert.DoesNotContain("0 µs", string.Join(' ', row), StringComparison.Ordinal);
        Assert.Contains("RATE_LIMITED", ResultWriters.ErrorDominatedMessage(result), StringComparison.Ordinal);
        Assert.Null(ResultWriters.ErrorDominatedMessage(Result("edgerelay", 1, 0, 1000)));
    }

    [Fact]
    public void A_window_where_nothing_completed_says_so_rather_than_naming_errors()
    {
        var empty = Result("edgerelay", 1, 0, 0) with { Latency = null, ErrorDominated = true };

        Assert.Equal("not a figure: nothing measured", ResultWriters.ThroughputText(empty));
        Assert.Contains("no operation completed", ResultWriters.ErrorDominatedMessage(empty), StringComparison.Ordinal);
    }

    private static string[] Cells(string line) => [.. line.Trim().Trim('|').Split(" | ").Select(c => c.Trim())];

    private static CompareRow Row(string id) => CompareRow.All.Single(r => r.Id == id);

    private static CompareOutcome Outcome(string id, RunResult result, TrafficMix? mix = null) =>
        new(Row(id), result, null, Failed: false) { Mix = mix ?? new TrafficMix(1, 0) };

    private static RunResult Result(string label, int addresses, double fresh, double perSecond) => new()
    {
        Target = label.Split(' ')[0],
        Label = label,
        Durability = "test",
        Scenario = "ingest",
        Model = "closed",
        Connections = 8,
        InFlight = 64,
        Addresses = addresses,
        FreshRatio = fresh,
        FreshAddresses = fresh > 0 && label == "edgerelay" ? FreshAddressesResult.From(new Targets.FreshAddressStats(1 << 18, 1 << 18, 0, 0)) : null,
        PayloadBytes = 1024,
        WarmupSeconds = 2,
        DurationSeconds = 10,
        Messages = (long)(perSecond * 10),
        Operations = (long)(perSecond * 10),
        MessagesPerSecond = perSecond,
        MegabytesPerSecond = perSecond * 1024 / 1e6,
        Latency = new LatencyMicroseconds { P50 = 100, P90 = 200, P99 = 300, P999 = 400, Max = 500 },
        Errors = [],
        WarmupErrors = 0,
        ServerCpuMicrosecondsPerMessage = 12.5,
        ClientCpuMicrosecondsPerMessage = 20,
        StartedAt = DateTimeOffset.UnixEpoch,
    };

    private static RunResult Dominated(RunResult result) => result with
    {
        Errors = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["RATE_LIMITED"] = 90_000 },
        RateLimited = 90_000,
        ErrorShare = LoadRunner.ErrorShare(result.Operations, 90_000),
        ErrorDominated = true,
        Latency = result.Messages == 0 ? null : result.Latency,
    };
}
