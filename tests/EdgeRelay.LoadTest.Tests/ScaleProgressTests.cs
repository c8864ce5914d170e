using System.Text.Json;
using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Reporting;

namespace EdgeRelay.LoadTest.Tests;

/// <summary><c>scale</c>'s rows as each run is measured, and what Ctrl+C leaves: fake runs, nothing started.</summary>
public sealed class ScaleProgressTests
{
    private static readonly RunSettings Settings = new() { Connections = 2, InFlight = 4, Duration = TimeSpan.FromSeconds(10), Warmup = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task Each_run_s_row_is_printed_before_the_next_run_starts_against_its_own_pair_s_baseline()
    {
        var plan = ScaleCommand.Plan(Settings, ["ingest"], [1, 2], 1, out _)[0];

        // Baseline 100 then 200: each cluster row must be read against the baseline run of its own pair.
        var rates = new Dictionary<(string, int), double>
        {
            [(ScalePlan.BaselineLabel, 0)] = 100,
            [(plan.Clusters[0].Label, 0)] = 50,
            [(plan.Engine.Label, 0)] = 80,
            [(ScalePlan.BaselineLabel, 1)] = 200,
            [(plan.Clusters[1].Label, 1)] = 40,
            [(plan.Engine.Label, 1)] = 60,
        };
        var events = new List<string>();
        Task<SeriesRun> RunOne(SeriesCase @case, int pair, CancellationToken stop)
        {
            events.Add("run " + @case.Label);
            return Task.FromResult(new SeriesRun(@case, pair, Result(rates[(@case.Label, pair)], 10), null, Failed: false));
        }

        var runs = await ScaleRunner.RunAsync(plan, 1, RunOne, _ => { }, step => events.AddRange(ScaleProgress.Lines(step, "ingest").Select(l => "print " + l)), CancellationToken.None);

        Assert.Equal(6, runs.Count);
        var firstRow = events.IndexOf("run " + plan.Clusters[0].Label) + 1;
        Assert.Equal("print | 1/2 | edgerelay-cluster, 1 node | 50 | 0.50 | - | - | - | - | - | 0 |", events[firstRow]);
        Assert.Equal("run " + plan.Engine.Label, events[firstRow + 1]);
        Assert.Contains("print | 1/2 | nats JetStream alone, 3 servers, R3 | 80 | 0.80 | - | - | - | - | - | 0 |", events);
        Assert.Contains($"print | 2/2 | {ScalePlan.BaselineLabel} (baseline) | 200 | 1.00 | - | - | - | - | - | 0 |", events);
        Assert.Contains("print | 2/2 | edgerelay-cluster, 2 nodes | 40 | 0.20 | - | - | - | - | - | 0 |", events);

        // One header, before the first row; then every run is followed by its row.
        Assert.Single(events, e => e.StartsWith("print | pair | case | msgs/s | vs baseline", StringComparison.Ordinal));
        var order = events.Where(e => e.StartsWith("run ", StringComparison.Ordinal) || e.StartsWith("print | ", StringComparison.Ordinal) && !e.Contains("| pair |", StringComparison.Ordinal) && !e.StartsWith("print |---", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(0, 6).SelectMany(_ => new[] { "run", "print" }), order.Select(e => e.Split(' ')[0]));
    }

    [Fact]
    public async Task Ctrl_c_ends_the_command_after_the_run_under_way_whose_row_says_how_much_it_measured()
    {
        var plan = ScaleCommand.Plan(Settings, ["push"], [1, 2, 3], 1, out _)[0];
        using var stop = new CancellationTokenSource();
        var started = new List<string>();
        var rows = new List<string>();
        Task<SeriesRun> RunOne(SeriesCase @case, int pair, CancellationToken token)
        {
            started.Add(@case.Label);
            var seconds = 10.0;
            if (pair == 1 && @case == plan.Clusters[1])
            {
                // Ctrl+C four seconds into the second cluster run: LoadRunner ends its window there and reports.
                stop.Cancel();
                seconds = 4;
            }

            return Task.FromResult(new SeriesRun(@case, pair, Result(100, seconds), null, Failed: false));
        }

        var runs = await ScaleRunner.RunAsync(plan, 1, RunOne, _ => { }, step => rows.Add(ScaleProgress.Row(step)), stop.Token);

        Assert.Equal([ScalePlan.BaselineLabel, plan.Clusters[0].Label, plan.Engine.Label, ScalePlan.BaselineLabel, plan.Clusters[1].Label], started);
        Assert.Equal(5, runs.Count);
        Assert.Equal("cancelled: measured 4 s of 10s", runs[^1].Note);
        Assert.Equal("| 2/3 | edgerelay-cluster, 2 nodes (cancelled: measured 4 s of 10s) | 100 | 1.00 | - | - | - | - | - | 0 |", rows[^1]);
        Assert.Equal(5, rows.Count);
    }

    [Fact]
    public async Task Scale_cancelled_before_any_run_writes_what_it_has_and_exits_with_the_cancelled_code()
    {
        var dir = Directory.CreateTempSubdirectory("edgerelay-loadtest-scale-").FullName;
        try
        {
            var json = Path.Combine(dir, "scale.json");
            using var stop = new CancellationTokenSource();
            await stop.CancelAsync();

            var exit = await LoadTestCommandLine.InvokeAsync(["scale", "--scenarios", "ingest", "--node-counts", "1", "--duration", "1s", "--json", json], stop.Token);

            Assert.Equal(LoadTestCommandLine.CancelledExitCode, exit);
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var cases = document.RootElement[0].GetProperty("series").GetProperty("cases");
            Assert.Equal(3, cases.GetArrayLength());
            Assert.All(cases.EnumerateArray(), c => Assert.Equal(0, c.GetProperty("runs").GetArrayLength()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static RunResult Result(double rate, double seconds) => new()
    {
        Target = "fake",
        Label = "fake",
        Durability = "-",
        Scenario = "ingest",
        Model = "closed",
        Connections = 2,
        InFlight = 4,
        Addresses = 1,
        PayloadBytes = 1024,
        WarmupSeconds = 1,
        DurationSeconds = seconds,
        Messages = (long)(rate * seconds),
        Operations = (long)(rate * seconds),
        MessagesPerSecond = rate,
        MegabytesPerSecond = rate / 1000,
        Latency = null,
        Errors = [],
        WarmupErrors = 0,
        StartedAt = DateTimeOffset.UnixEpoch,
    };
}
