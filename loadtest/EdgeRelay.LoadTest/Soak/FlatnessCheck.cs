using System.Globalization;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>What <see cref="FlatnessCheck"/> accepts. The defaults are for a long soak (30 minutes); a short one needs looser bounds.</summary>
internal sealed record FlatnessBounds
{
    /// <summary>
    /// Disk B's log may gain between the first and the last third without growing for good: one segment
    /// (Storage:SegmentSizeBits 28 = 256 MiB, the unit FASTER deletes when it truncates, so the folder climbs
    /// by up to a segment before truncation takes one away) plus the 32 MiB the log device zero-fills ahead.
    /// </summary>
    public const long DefaultDiskAllowanceBytes = (256L + 32) << 20;

    /// <summary>The same for A, whose outbound log has 64 MiB segments (FasterOutboundQueueOptions.SegmentSizeBits 26).</summary>
    public const long DefaultSendingDiskAllowanceBytes = (64L + 32) << 20;

    /// <summary>The share of the run dropped as warm-up (JIT, the log's first pages filling memory). Default 0.2.</summary>
    public double WarmupShare { get; init; } = 0.2;

    /// <summary>Resident and private memory: most growth over the steady window, as a share of its mean. Default 0.10.</summary>
    public double MaxMemoryGrowth { get; init; } = 0.10;

    /// <summary>The GC heap, a saw between collections: most growth as a share of its mean. Default 0.25.</summary>
    public double MaxHeapGrowth { get; init; } = 0.25;

    /// <summary>Most B's disk peak of the last third may exceed the first third's. Default <see cref="DefaultDiskAllowanceBytes"/>.</summary>
    public long DiskAllowanceBytes { get; init; } = DefaultDiskAllowanceBytes;

    /// <summary>The same for A. Default <see cref="DefaultSendingDiskAllowanceBytes"/>.</summary>
    public long SendingDiskAllowanceBytes { get; init; } = DefaultSendingDiskAllowanceBytes;

    /// <summary>p99 of the last third against the first third's. Default 2.</summary>
    public double MaxLatencyRatio { get; init; } = 2;

    /// <summary>A p99 rise this small passes whatever the ratio (a 300 µs p99 doubling is noise on a shared machine). Default 2 ms.</summary>
    public double LatencySlackMicroseconds { get; init; } = 2000;

    /// <summary>Mean CPU of the last third against the first third's. Default 1.5.</summary>
    public double MaxCpuRatio { get; init; } = 1.5;

    /// <summary>A CPU rise this small, in percent of a core, passes whatever the ratio. Default 5.</summary>
    public double CpuSlackPercent { get; init; } = 5;

    /// <summary>Deliveries per second in the last third at least this share of the first third's. Default 0.9.</summary>
    public double MinThroughputRatio { get; init; } = 0.9;

    public IEnumerable<string> Validate()
    {
        if (WarmupShare is < 0 or >= 0.9)
        {
            yield return "--warmup-share: out of range [0, 0.9).";
        }

        if (MaxMemoryGrowth <= 0 || MaxHeapGrowth <= 0 || MaxLatencyRatio < 1 || MaxCpuRatio < 1 || MinThroughputRatio is <= 0 or > 1 || DiskAllowanceBytes < 0 || SendingDiskAllowanceBytes < 0)
        {
            yield return "flatness bounds: growths above 0, ratios at least 1, --min-throughput-ratio in (0, 1], disk allowances at least 0.";
        }
    }
}

/// <summary>One series' verdict: what was measured, against what bound, and whether it passed.</summary>
internal sealed record SeriesVerdict(string Series, string Criterion, bool Passed, string Detail);

/// <summary>
/// Whether a soak's series stayed flat once warm. The run's first <see cref="FlatnessBounds.WarmupShare"/> is
/// dropped; what is left (the steady window) is judged series by series:
/// <list type="bullet">
/// <item>memory (RSS, private, GC heap of each relay): the least-squares slope times the window's length, over
/// the window's mean, at most <see cref="FlatnessBounds.MaxMemoryGrowth"/> (<see cref="FlatnessBounds.MaxHeapGrowth"/>
/// for the heap). A leak of a fixed size per message is a straight line under steady load; the fit ignores the GC's saw.</item>
/// <item>disk (each data folder): the peak of the last third at most the peak of the first third plus
/// <see cref="FlatnessBounds.DiskAllowanceBytes"/> (B) or <see cref="FlatnessBounds.SendingDiskAllowanceBytes"/> (A). Not a slope: the log grows until a truncation deletes a
/// whole segment, so the folder is a saw whose teeth are a segment tall and the slope over a window shorter
/// than a few teeth says nothing. When ACKs reclaim, the peaks stay level; when they do not, the folder grows
/// by the write rate and the peaks rise by far more than a segment over a long run.</item>
/// <item>latency (the p99 of each interval, per path): the median of the last third's interval p99s at most
/// <see cref="FlatnessBounds.MaxLatencyRatio"/> times the first third's, or within the slack. Medians, so that one GC pause does not decide.</item>
/// <item>CPU (each relay): the mean of the last third against the first third's, ratio or slack.</item>
/// <item>throughput: deliveries per second of the last third at least <see cref="FlatnessBounds.MinThroughputRatio"/> of the first third's.</item>
/// <item>errors: none at all (the soak runs at half load, where nothing should be refused).</item>
/// </list>
/// </summary>
internal static class FlatnessCheck
{
    private static readonly string[] MemorySeries = ["b_rss_bytes", "b_private_bytes", "a_rss_bytes", "a_private_bytes"];
    private static readonly string[] HeapSeries = ["b_gc_heap_bytes", "a_gc_heap_bytes"];
    private static readonly string[] CpuSeries = ["b_cpu_pct", "a_cpu_pct"];

    /// <summary>Optional: a run without SEND_VIA has no via latency, a run without pulled addresses no pull latency.</summary>
    private static readonly string[] LatencySeries = ["send_p99_us", "via_p99_us", "push_p99_us", "pull_p99_us"];

    public static IReadOnlyList<SeriesVerdict> Check(SoakSeries samples, FlatnessBounds bounds)
    {
        var time = samples["elapsed_s"] ?? throw new FormatException("no elapsed_s column");
        double end = time.Count == 0 ? 0 : time[^1] ?? 0;
        double warmup = end * bounds.WarmupShare;
        var steady = Enumerable.Range(0, time.Count).Where(i => time[i] is { } t && t > warmup).ToArray();
        var verdicts = new List<SeriesVerdict>();
        var errors = samples["errors"]?.Max() ?? 0;
        verdicts.Add(new SeriesVerdict("errors", "none expected at half load", errors == 0, F($"{errors:0} error(s) in the whole run")));
        if (steady.Length < 3)
        {
            verdicts.Add(new SeriesVerdict("samples", "at least 3 after the warm-up", false, F($"{steady.Length} sample(s) after dropping {warmup:0.#} s")));
            return verdicts;
        }

        foreach (var name in MemorySeries)
        {
            verdicts.Add(Growth(samples, name, time, steady, bounds.MaxMemoryGrowth));
        }

        foreach (var name in HeapSeries)
        {
            verdicts.Add(Growth(samples, name, time, steady, bounds.MaxHeapGrowth));
        }

        verdicts.Add(PeakRise(samples, "b_disk_bytes", steady, bounds.DiskAllowanceBytes));
        verdicts.Add(PeakRise(samples, "a_disk_bytes", steady, bounds.SendingDiskAllowanceBytes));

        foreach (var name in LatencySeries)
        {
            if (Values(samples[name], Thirds(steady).First).Count > 0 || Values(samples[name], Thirds(steady).Last).Count > 0)
            {
                verdicts.Add(ThirdsRatio(samples, name, steady, bounds.MaxLatencyRatio, bounds.LatencySlackMicroseconds, median: true, "µs"));
            }
        }

        // A relay's CPU per message moves with its neighbours (a saturated machine batches more per wake-up), so
        // the verdict says what the machine did over the same thirds, when that was sampled.
        var (loadBefore, loadAfter) = (Values(samples["host_load1"], Thirds(steady).First), Values(samples["host_load1"], Thirds(steady).Last));
        string machine = loadBefore.Count > 0 && loadAfter.Count > 0 ? F($"; machine load average {loadBefore.Average():0.#} -> {loadAfter.Average():0.#}") : "";
        foreach (var name in CpuSeries)
        {
            var verdict = ThirdsRatio(samples, name, steady, bounds.MaxCpuRatio, bounds.CpuSlackPercent, median: false, "% of a core");
            verdicts.Add(verdict with { Detail = verdict.Detail + machine });
        }

        var (first, last) = Thirds(steady);
        var early = Values(samples["delivered_per_s"], first);
        var late = Values(samples["delivered_per_s"], last);
        if (early.Count == 0 || late.Count == 0)
        {
            verdicts.Add(new SeriesVerdict("delivered_per_s", "throughput held", false, "no values"));
        }
        else
        {
            double ratio = early.Average() > 0 ? late.Average() / early.Average() : 0;
            verdicts.Add(new SeriesVerdict("delivered_per_s", F($"last third at least {bounds.MinThroughputRatio:0.##}x the first"), ratio >= bounds.MinThroughputRatio,
                F($"{early.Average():0} -> {late.Average():0} msgs/s ({ratio:0.###}x)")));
        }

        return verdicts;
    }

    /// <summary>Least-squares slope of <paramref name="y"/> on <paramref name="x"/>; 0 for fewer than two points or one x.</summary>
    internal static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 2)
        {
            return 0;
        }

        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0;
        for (int i = 0; i < n; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
        }

        return sxx == 0 ? 0 : sxy / sxx;
    }

    private static SeriesVerdict Growth(SoakSeries samples, string name, IReadOnlyList<double?> time, int[] steady, double bound)
    {
        var column = samples[name];
        var points = steady.Where(i => column is not null && column[i] is not null && time[i] is not null).ToArray();
        string criterion = F($"growth over the steady window at most {bound * 100:0.#}% of its mean");
        if (points.Length < 3)
        {
            return new SeriesVerdict(name, criterion, false, "fewer than 3 values after the warm-up");
        }

        var x = points.Select(i => time[i]!.Value).ToArray();
        var y = points.Select(i => column![i]!.Value).ToArray();
        double span = x[^1] - x[0];
        double mean = y.Average();
        double growth = Slope(x, y) * span;
        double share = mean > 0 ? growth / mean : 0;
        return new SeriesVerdict(name, criterion, share <= bound,
            F($"mean {Mib(mean)}, slope {Slope(x, y) / 1024:0.##} KiB/s, {Signed(growth / 1048576)} MiB over {span:0} s = {Signed(share * 100)}%"));
    }

    private static SeriesVerdict PeakRise(SoakSeries samples, string name, int[] steady, long allowance)
    {
        var (first, last) = Thirds(steady);
        var early = Values(samples[name], first);
        var late = Values(samples[name], last);
        string criterion = F($"peak of the last third at most the first third's + {Mib(allowance)}");
        if (early.Count == 0 || late.Count == 0)
        {
            return new SeriesVerdict(name, criterion, false, "no values in the first or last third");
        }

        double rise = late.Max() - early.Max();
        return new SeriesVerdict(name, criterion, rise <= allowance, F($"peaks {Mib(early.Max())} -> {Mib(late.Max())} ({Signed(rise / 1048576)} MiB)"));
    }

    private static SeriesVerdict ThirdsRatio(SoakSeries samples, string name, int[] steady, double maxRatio, double slack, bool median, string unit)
    {
        var (first, last) = Thirds(steady);
        var early = Values(samples[name], first);
        var late = Values(samples[name], last);
        string statistic = median ? "median" : "mean";
        string criterion = F($"{statistic} of the last third at most {maxRatio:0.##}x the first third's (or within {slack:0.#} {unit})");
        if (early.Count == 0 || late.Count == 0)
        {
            return new SeriesVerdict(name, criterion, false, "no values in the first or last third");
        }

        double a = median ? Median(early) : early.Average();
        double b = median ? Median(late) : late.Average();
        bool passed = b <= a * maxRatio || b - a <= slack;
        string ratio = a > 0 ? F($"{b / a:0.##}x") : "n/a";
        return new SeriesVerdict(name, criterion, passed, F($"{a:0.#} -> {b:0.#} {unit} ({ratio})"));
    }

    /// <summary>The first and the last third of the steady window, by sample count.</summary>
    internal static (int[] First, int[] Last) Thirds(int[] steady)
    {
        int third = Math.Max(1, steady.Length / 3);
        return (steady[..third], steady[^third..]);
    }

    private static List<double> Values(IReadOnlyList<double?>? column, int[] rows) =>
        column is null ? [] : rows.Where(i => column[i] is not null).Select(i => column[i]!.Value).ToList();

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Mib(double bytes) => F($"{bytes / 1048576:0.#} MiB");

    private static string Signed(double value) => value.ToString("+0.##;-0.##;0", CultureInfo.InvariantCulture);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
