using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// When a run fails its error check (<c>--max-error-rate</c>, exit code 3), and how latencies that were never
/// measured are shown: a dash on the terminal and in markdown, null in JSON, never 0.
/// </summary>
public sealed class ErrorRateTests
{
    [Theory]
    [InlineData(1000, 0, 0.01, false)]
    [InlineData(990, 10, 0.01, false)] // exactly 1%: at the threshold, not above it
    [InlineData(989, 11, 0.01, true)]
    [InlineData(1_000_000, 1, 0.0, true)] // one error in a million is above a threshold of 0
    [InlineData(1000, 0, 0.0, false)]
    [InlineData(0, 0, 1.0, true)] // nothing succeeded: fails whatever the threshold
    [InlineData(0, 404_610, 1.0, true)]
    [InlineData(100, 100, 0.9, true)] // as many failures as successes: no figures to pass
    [InlineData(100, 40, 0.5, false)]
    public void The_window_fails_above_the_threshold_and_whenever_nothing_succeeded(long successes, long errors, double maxErrorRate, bool exceeded)
    {
        Assert.Equal(exceeded, LoadRunner.ExceedsErrorBudget(successes, errors, maxErrorRate));
    }

    [Fact]
    public void The_default_threshold_is_one_percent_on_both_commands()
    {
        Assert.Equal(0.01, new RunSettings().MaxErrorRate);
        var run = LoadTestCommandLine.Build().Parse(["run"]);
        Assert.Equal(0.01, run.GetValue<double>("--max-error-rate"));
        var given = LoadTestCommandLine.Build().Parse(["compare", "--max-error-rate", "0.25"]);
        Assert.Empty(given.Errors);
        Assert.Equal(0.25, given.GetValue<double>("--max-error-rate"));
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void A_threshold_outside_zero_to_one_is_refused(double maxErrorRate)
    {
        var problems = new RunSettings { MaxErrorRate = maxErrorRate }.Validate();

        Assert.Contains(problems, p => p.StartsWith("--max-error-rate:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_threshold_on_the_command_line_is_a_usage_error() =>
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(["run", "--max-error-rate", "2"]));

    [Fact]
    public void A_window_above_the_threshold_but_not_dominated_names_the_threshold_and_keeps_its_figures()
    {
        var result = WithErrors(Result(), 30) with { MaxErrorRate = 0.01, ErrorRateExceeded = true };

        var message = ResultWriters.ErrorRateMessage(result);

        Assert.NotNull(message);
        Assert.Contains("above --max-error-rate 1%", message, StringComparison.Ordinal);
        Assert.Contains("QUOTA_ADDRESS 30", message, StringComparison.Ordinal);
        Assert.Equal("100 µs", ResultWriters.MicrosText(ResultWriters.ShownLatency(result)?.P50));
        Assert.Null(ResultWriters.ErrorRateMessage(result with { ErrorRateExceeded = false }));
    }

    [Fact]
    public void A_window_with_nothing_measured_says_so_and_shows_dashes_for_every_latency()
    {
        // The case an operator met: a default relay refusing every SEND with QUOTA_ADDRESS.
        var result = WithErrors(Result(), 404_610) with
        {
            Messages = 0,
            Operations = 0,
            MessagesPerSecond = 0,
            Latency = null,
            ErrorShare = 1,
            ErrorDominated = true,
            ErrorRateExceeded = true,
        };

        Assert.Contains("no operation succeeded in the measured window; all 404,610 failed (QUOTA_ADDRESS 404610)", ResultWriters.ErrorRateMessage(result), StringComparison.Ordinal);
        var text = Render(SummaryTable.Build(result));
        foreach (var row in new[] { "latency p50", "latency p90", "latency p99", "latency p99.9", "latency max" })
        {
            var line = text.Split('\n').Single(l => l.Contains(row + " ", StringComparison.Ordinal));
            Assert.DoesNotContain("µs", line, StringComparison.Ordinal);
            Assert.Contains(" - ", line, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(" 0 µs", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(ResultWriters.ToJson(result));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("latency_us").ValueKind);
        Assert.True(json.RootElement.GetProperty("error_rate_exceeded").GetBoolean());
        Assert.Equal(0.01, json.RootElement.GetProperty("max_error_rate").GetDouble());
    }

    [Fact]
    public void An_open_run_without_a_measured_send_has_null_send_lag_rather_than_zero()
    {
        var result = Result() with { Model = "open", Rate = 1000, SendLag = new SendLagMicroseconds { P50 = null, P99 = null, Max = null } };

        using var json = JsonDocument.Parse(ResultWriters.ToJson(result));
        var lag = json.RootElement.GetProperty("send_lag_us");
        Assert.Equal(JsonValueKind.Null, lag.GetProperty("p50").ValueKind);
        Assert.Equal(JsonValueKind.Null, lag.GetProperty("max").ValueKind);
        var line = Render(SummaryTable.Build(result)).Split('\n').Single(l => l.Contains("send lag", StringComparison.Ordinal));
        Assert.Contains("- / - / -", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_progress_line_shows_a_dash_for_a_second_without_a_measured_latency()
    {
        var line = ProgressDisplay.Line(new ProgressSnapshot(RunPhase.Warmup, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(12), 0, null, 0, 5000));

        Assert.Contains("p99 - ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("0 µs", line, StringComparison.Ordinal);
        Assert.Contains("p99 250 µs", ProgressDisplay.Line(new ProgressSnapshot(RunPhase.Measure, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(12), 10, 250, 10, 0)), StringComparison.Ordinal);
    }

    private static string Render(Spectre.Console.Rendering.IRenderable table)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No });
        console.Profile.Width = 200;
        console.Write(table);
        return writer.ToString();
    }

    private static RunResult WithErrors(RunResult result, long quotaErrors) => result with
    {
        Errors = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["QUOTA_ADDRESS"] = quotaErrors },
        ErrorShare = LoadRunner.ErrorShare(result.Operations, quotaErrors),
        ErrorDominated = LoadRunner.IsErrorDominated(result.Operations, quotaErrors),
    };

    private static RunResult Result() => new()
    {
        Target = "edgerelay",
        Label = "edgerelay",
        Durability = "test",
        Scenario = "ingest",
        Model = "closed",
        Connections = 8,
        InFlight = 64,
        Addresses = 1,
        PayloadBytes = 1024,
        WarmupSeconds = 2,
        DurationSeconds = 10,
        Messages = 1000,
        Operations = 1000,
        MessagesPerSecond = 100,
        MegabytesPerSecond = 0.1,
        Latency = new LatencyMicroseconds { P50 = 100, P90 = 200, P99 = 300, P999 = 400, Max = 500 },
        Errors = [],
        MaxErrorRate = 0.01,
        WarmupErrors = 0,
        StartedAt = DateTimeOffset.UnixEpoch,
    };
}
