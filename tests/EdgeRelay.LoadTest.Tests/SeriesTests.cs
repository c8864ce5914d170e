using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;

namespace EdgeRelay.LoadTest.Tests;

/// <summary><c>series</c>: how cases are read, how rounds interleave, and the medians and ratios it reports.</summary>
public sealed class SeriesTests
{
    [Fact]
    public void Cases_take_the_common_options_then_their_own()
    {
        var cases = SeriesCommand.ParseCases(
            ["one=--target raw-sink", "many=--target edgerelay --addresses 5000 --relay-setting Relay:ResolutionCacheCapacity=131072"],
            "--duration 2s --payload 512",
            out var problems);

        Assert.Empty(problems);
        Assert.Equal(["one", "many"], cases.Select(c => c.Label));
        Assert.Equal("raw-sink", cases[0].Settings.Target);
        Assert.Equal(1, cases[0].Settings.Addresses);
        Assert.Equal(5000, cases[1].Settings.Addresses);
        Assert.Equal(["Relay:ResolutionCacheCapacity=131072"], cases[1].Settings.RelaySettings);
        Assert.All(cases, c => Assert.Equal(TimeSpan.FromSeconds(2), c.Settings.Duration));
        Assert.All(cases, c => Assert.Equal(512, c.Settings.PayloadBytes));
        Assert.Equal("--duration 2s --payload 512 --target raw-sink", cases[0].Args);
    }

    [Theory]
    [InlineData("nolabel", "not LABEL=ARGS")]
    [InlineData("=--target raw-sink", "not LABEL=ARGS")]
    [InlineData("x=--target mongodb", "--case x:")]
    [InlineData("x=--connections 0", "--case x: --connections")]
    [InlineData("x=--endpoint 127.0.0.1:1", "--case x:")]
    public void A_bad_case_is_refused_with_its_label_named(string text, string expected)
    {
        SeriesCommand.ParseCases([text], null, out var problems);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_label_given_twice_is_refused()
    {
        SeriesCommand.ParseCases(["a=--target raw-sink", "a=--target raw-fasterlog"], null, out var problems);

        Assert.Contains(problems, p => p.Contains("given twice", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("series|--case|a=--target raw-sink|--repeat|0")]
    [InlineData("series|--case|a=--target raw-sink|--baseline|b")]
    [InlineData("series")]
    public async Task Usage_errors_exit_1_before_anything_runs(string args)
    {
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(args.Split('|')));
    }

    [Fact]
    public void Each_round_starts_one_case_later_so_no_case_always_runs_first()
    {
        Assert.Equal([0, 1, 2], SeriesRunner.Order(3, 0));
        Assert.Equal([1, 2, 0], SeriesRunner.Order(3, 1));
        Assert.Equal([2, 0, 1], SeriesRunner.Order(3, 2));
        Assert.Equal([0, 1, 2], SeriesRunner.Order(3, 3));
    }

    [Fact]
    public void Medians_are_the_middle_value_or_the_mean_of_the_middle_two()
    {
        Assert.Equal(new Spread(3, 1, 9, 5), Spread.Of([9, 1, 3, 2, 4]));
        Assert.Equal(new Spread(2.5, 1, 4, 4), Spread.Of([4, 1, 3, 2]));
        Assert.Null(Spread.Of([]));
        Assert.Equal("3 (1–9)", Spread.Of([9, 1, 3, 2, 4])!.Value.Format("0"));
        Assert.Equal("7", Spread.Of([7])!.Value.Format("0"));
    }

    [Fact]
    public void Ratios_are_taken_round_by_round_against_the_baseline_and_error_dominated_runs_are_not_figures()
    {
        var cases = SeriesCommand.ParseCases(["base=--target raw-sink", "other=--target raw-fasterlog"], null, out _);
        SeriesRun Run(int @case, int round, double rate, bool errorDominated = false) =>
            new(cases[@case], round, Result(cases[@case].Settings.Target, rate, errorDominated), null, Failed: false);
        var runs = new List<SeriesRun>
        {
            Run(0, 0, 100), Run(1, 0, 50),   // 0.5
            Run(0, 1, 200), Run(1, 1, 180),  // 0.9
            Run(0, 2, 100), Run(1, 2, 70),   // 0.7
            Run(0, 3, 100), Run(1, 3, 1, errorDominated: true),
            Run(0, 4, 300, errorDominated: true), Run(1, 4, 90),
        };

        var summary = SeriesReport.Summarise(runs, cases, cases[0]);

        var other = summary[1];
        Assert.False(other.IsBaseline);
        Assert.Equal(5, other.Runs);
        Assert.Equal(4, other.Figures);
        Assert.Equal(new Spread(0.7, 0.5, 0.9, 3), other.RatioToBaseline);
        Assert.Equal(new Spread(80, 50, 180, 4), other.MessagesPerSecond);
        Assert.Equal(new Spread(100, 100, 200, 4), summary[0].MessagesPerSecond);
        Assert.True(summary[0].IsBaseline);

        var markdown = SeriesReport.ToMarkdown(summary, 5);
        Assert.Contains("| base (baseline) | 4/5 | 100 (100–200) | 1.00 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| other | 4/5 | 80 (50–180) | 0.70 (0.50–0.90) |", markdown, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(SeriesReport.ToJson(summary, runs, 5));
        var second = json.RootElement.GetProperty("cases")[1];
        Assert.Equal(0.7, second.GetProperty("summary").GetProperty("ratio_to_baseline").GetProperty("median").GetDouble(), 9);
        Assert.Equal(5, second.GetProperty("runs").GetArrayLength());
    }

    private static RunResult Result(string target, double rate, bool errorDominated) => new()
    {
        Target = target,
        Label = target,
        Durability = "-",
        Scenario = "ingest",
        Model = "closed",
        Connections = 1,
        InFlight = 1,
        Addresses = 1,
        PayloadBytes = 1024,
        WarmupSeconds = 0,
        DurationSeconds = 1,
        Messages = (long)rate,
        Operations = (long)rate,
        MessagesPerSecond = rate,
        MegabytesPerSecond = rate / 1000,
        Latency = null,
        Errors = errorDominated ? new SortedDictionary<string, long> { ["INTERNAL_ERROR"] = 10 } : [],
        ErrorDominated = errorDominated,
        WarmupErrors = 0,
        StartedAt = DateTimeOffset.UnixEpoch,
    };
}

/// <summary>A real series: two short rounds of two in-process targets, through the command line.</summary>
[Collection(RealRunsCollection.Name)]
public sealed class SeriesRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-series-").FullName;

    [Fact]
    public async Task Two_rounds_of_two_cases_write_every_run_and_a_summary_with_ratios()
    {
        var json = Path.Combine(_dir, "series.json");
        var markdown = Path.Combine(_dir, "series.md");

        var exit = await LoadTestCommandLine.InvokeAsync(
        [
            "series", "--repeat", "2", "--common", "--connections 2 --payload 1024 --duration 1s --warmup 200ms",
            "--case", "sink=--target raw-sink", "--case", "log=--target raw-fasterlog", "--json", json, "--markdown", markdown,
        ]);

        Assert.Equal(0, exit);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var cases = document.RootElement.GetProperty("cases");
        Assert.Equal(2, cases.GetArrayLength());
        foreach (var @case in cases.EnumerateArray())
        {
            var runs = @case.GetProperty("runs");
            Assert.Equal(2, runs.GetArrayLength());
            Assert.All(runs.EnumerateArray(), r => Assert.True(r.GetProperty("msgs_per_s").GetDouble() > 0));
            Assert.Equal(2, @case.GetProperty("summary").GetProperty("msgs_per_s").GetProperty("count").GetInt32());
        }

        var ratio = cases[1].GetProperty("summary").GetProperty("ratio_to_baseline").GetProperty("median").GetDouble();
        Assert.True(ratio > 0);
        var table = await File.ReadAllTextAsync(markdown);
        Assert.Contains("| sink (baseline) | 2/2 |", table, StringComparison.Ordinal);
        Assert.Contains("log: run --connections 2 --payload 1024 --duration 1s --warmup 200ms --target raw-fasterlog", table, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
