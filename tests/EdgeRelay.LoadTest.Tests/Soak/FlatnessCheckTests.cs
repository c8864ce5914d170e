using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Soak;
using EdgeRelay.Testing;
using static EdgeRelay.LoadTest.Tests.Soak.SoakSeriesFactory;

namespace EdgeRelay.LoadTest.Tests.Soak;

/// <summary>The flatness check on synthetic soaks: a flat one passes every series; bending one series fails that series alone.</summary>
public sealed class FlatnessCheckTests
{
    private static readonly FlatnessBounds Bounds = new();

    [Fact]
    public void A_flat_soak_passes_every_series_with_its_saws()
    {
        var verdicts = FlatnessCheck.Check(Build(), Bounds);

        Assert.All(verdicts, v => Assert.True(v.Passed, $"{v.Series}: {v.Detail}"));
        Assert.Equal(
            [
                "errors", "b_rss_bytes", "b_private_bytes", "a_rss_bytes", "a_private_bytes", "b_gc_heap_bytes", "a_gc_heap_bytes",
                "b_disk_bytes", "a_disk_bytes", "send_p99_us", "via_p99_us", "push_p99_us", "pull_p99_us", "b_cpu_pct", "a_cpu_pct", "delivered_per_s",
            ],
            verdicts.Select(v => v.Series));
    }

    [Fact]
    public void Memory_that_grows_a_fixed_amount_per_interval_fails_with_its_growth()
    {
        // 300 MiB growing by 60 MiB over the run: about 50 MiB over the steady 80%, some 15% of its mean.
        var leaking = Build((s, i) => s.WithReceiving(r => r with { RssBytes = r.RssBytes + (long)(Progress(i) * 60 * (1 << 20)) }));

        var failed = Assert.Single(FlatnessCheck.Check(leaking, Bounds), v => !v.Passed);

        Assert.Equal("b_rss_bytes", failed.Series);
        Assert.Matches(@"\+1[45](\.\d+)?%", failed.Detail);
    }

    [Fact]
    public void Growth_inside_the_warm_up_is_not_held_against_the_steady_window()
    {
        // The log's buffer filling memory in the first 15% of the run, then flat: as a relay starts.
        var warming = Build((s, i) => s.WithReceiving(r => r with { RssBytes = r.RssBytes - (long)(Math.Max(0, 0.15 - Progress(i)) * 600 * (1 << 20)) }));

        Assert.All(FlatnessCheck.Check(warming, Bounds), v => Assert.True(v.Passed, $"{v.Series}: {v.Detail}"));
        Assert.Contains(FlatnessCheck.Check(warming, Bounds with { WarmupShare = 0 }), v => v.Series == "b_rss_bytes" && !v.Passed);
    }

    [Fact]
    public void A_log_that_never_truncates_fails_the_disk_and_its_saw_passes()
    {
        // 3 MiB/s written and never reclaimed: 1.8 GB more in the last third than in the first.
        var growing = Build((s, i) => s.WithReceiving(r => r with { DiskBytes = (long)(s.ElapsedSeconds * 3 * (1 << 20)) }));

        var failed = Assert.Single(FlatnessCheck.Check(growing, Bounds), v => !v.Passed);

        Assert.Equal("b_disk_bytes", failed.Series);
        Assert.Contains("MiB", failed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sending_relay_is_held_to_its_own_smaller_segment()
    {
        // A's folder drifting up 300 MiB over the run, so its peaks rise ~160 MiB: inside B's 288 MiB allowance, outside A's 96 MiB.
        var drifting = Build((s, i) => s with { Sending = s.Sending with { DiskBytes = s.Sending.DiskBytes + (long)(Progress(i) * 300 * (1 << 20)) } });

        var failed = Assert.Single(FlatnessCheck.Check(drifting, Bounds), v => !v.Passed);

        Assert.Equal("a_disk_bytes", failed.Series);
        Assert.All(FlatnessCheck.Check(drifting, Bounds with { SendingDiskAllowanceBytes = Bounds.DiskAllowanceBytes }), v => Assert.True(v.Passed, v.Series));
    }

    [Theory]
    [InlineData(3.0, false)] // p99 three times the first third's
    [InlineData(1.5, true)] // within the ratio
    public void Latency_of_the_last_third_is_judged_against_the_first(double factor, bool passes)
    {
        var slower = Build((s, i) => Progress(i) > 0.7 ? s with { PushP99 = (long)(s.PushP99!.Value * factor) } : s);

        var push = Assert.Single(FlatnessCheck.Check(slower, Bounds), v => v.Series == "push_p99_us");

        Assert.Equal(passes, push.Passed);
    }

    [Fact]
    public void A_latency_rise_within_the_slack_passes_whatever_the_ratio()
    {
        // 300 µs to 900 µs is three times as slow, and 0.6 ms: noise on a shared machine.
        var series = Build((s, i) => s with { SendP99 = Progress(i) > 0.7 ? 900 : 300 });

        Assert.True(Assert.Single(FlatnessCheck.Check(series, Bounds), v => v.Series == "send_p99_us").Passed);
        Assert.False(Assert.Single(FlatnessCheck.Check(series, Bounds with { LatencySlackMicroseconds = 100 }), v => v.Series == "send_p99_us").Passed);
    }

    [Fact]
    public void Cpu_that_doubles_and_throughput_that_halves_fail()
    {
        var series = Build((s, i) => Progress(i) > 0.7 ? s.WithReceiving(r => r with { CpuPercent = r.CpuPercent * 2 }) with { DeliveredPerSecond = s.DeliveredPerSecond / 2 } : s);

        var failed = FlatnessCheck.Check(series, Bounds).Where(v => !v.Passed).Select(v => v.Series);

        Assert.Equal(["b_cpu_pct", "delivered_per_s"], failed);
    }

    [Fact]
    public void A_cpu_verdict_names_the_machine_load_of_the_same_thirds()
    {
        var series = Build((s, i) => s with { HostLoad1 = Progress(i) > 0.7 ? 12 : 40 });

        var cpu = Assert.Single(FlatnessCheck.Check(series, Bounds), v => v.Series == "b_cpu_pct");

        Assert.EndsWith("; machine load average 40 -> 12", cpu.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void One_error_anywhere_fails_the_soak()
    {
        var series = Build((s, i) => s with { Errors = i >= 3 ? 1 : 0 });

        var failed = Assert.Single(FlatnessCheck.Check(series, Bounds), v => !v.Passed);

        Assert.Equal("errors", failed.Series);
    }

    [Fact]
    public void Too_few_samples_after_the_warm_up_cannot_pass()
    {
        // Four samples, 5 s apart; half of the 20 s dropped leaves two.
        var verdicts = FlatnessCheck.Check(Build(count: 4), Bounds with { WarmupShare = 0.5 });

        Assert.Contains(verdicts, v => v.Series == "samples" && !v.Passed);
        Assert.DoesNotContain(FlatnessCheck.Check(Build(count: 4), Bounds with { WarmupShare = 0.2 }), v => v.Series == "samples");
    }

    [Fact]
    public void The_slope_is_the_least_squares_one()
    {
        Assert.Equal(2.5, FlatnessCheck.Slope([0, 1, 2, 3], [1, 3.5, 6, 8.5]), 9);
        Assert.Equal(0, FlatnessCheck.Slope([4, 4], [1, 9]));
        Assert.Equal(0, FlatnessCheck.Slope([1], [1]));
    }

    [Fact]
    public async Task Soak_check_exits_0_on_a_flat_file_4_on_a_leak_and_2_on_no_file()
    {
        using var dir = new TempDirectory("soak-check");
        var flat = dir.Combine("flat.csv");
        var leak = dir.Combine("leak.csv");
        await File.WriteAllTextAsync(flat, Csv(Build()));
        await File.WriteAllTextAsync(leak, Csv(Build((s, i) => s.WithReceiving(r => r with { PrivateBytes = r.PrivateBytes + (i * (1 << 20)) }))));

        Assert.Equal(0, await LoadTestCommandLine.InvokeAsync(["soak-check", flat]));
        Assert.Equal(SoakCommand.NotFlatExitCode, await LoadTestCommandLine.InvokeAsync(["soak-check", leak]));
        Assert.Equal(0, await LoadTestCommandLine.InvokeAsync(["soak-check", leak, "--max-memory-growth", "10"]));
        Assert.Equal(LoadTestCommandLine.FailedExitCode, await LoadTestCommandLine.InvokeAsync(["soak-check", dir.Combine("missing.csv")]));
    }

    [Fact]
    public async Task Soak_check_redraws_the_charts_of_a_samples_file()
    {
        using var dir = new TempDirectory("soak-check");
        var flat = dir.Combine("samples.csv");
        await File.WriteAllTextAsync(flat, Csv(Build()));

        Assert.Equal(0, await LoadTestCommandLine.InvokeAsync(["soak-check", flat, "--plots", dir.Combine("charts")]));

        Assert.Equal(7, Directory.GetFiles(dir.Combine("charts"), "*.png").Length);
    }

    /// <summary>The series back as CSV text, column order as read.</summary>
    private static string Csv(SoakSeries series)
    {
        var names = series.Columns.Keys.ToArray();
        var lines = new List<string> { string.Join(',', names) };
        for (int row = 0; row < series.Count; row++)
        {
            lines.Add(string.Join(',', names.Select(n => series[n]![row]?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "")));
        }

        return string.Join('\n', lines);
    }
}
