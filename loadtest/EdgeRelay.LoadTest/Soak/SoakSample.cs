using System.Globalization;
using System.Text;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>What one relay process looked like at a sample; a field is null when it could not be read.</summary>
internal sealed record RelayReading
{
    /// <summary>Resident set (VmRSS): what the machine gives the process, heap, code and mapped log pages alike.</summary>
    public long? RssBytes { get; init; }

    /// <summary>Private anonymous resident memory (RssAnon): the heaps and buffers, without mapped files.</summary>
    public long? PrivateBytes { get; init; }

    /// <summary>The managed heap the relay reports (<c>dotnet_total_memory_bytes</c> of its /metrics).</summary>
    public long? GcHeapBytes { get; init; }

    /// <summary>Blocks allocated to the data folder's files (what <c>du</c> counts), not their apparent sizes.</summary>
    public long? DiskBytes { get; init; }

    /// <summary>CPU of the interval, user plus system, in percent of one core.</summary>
    public double? CpuPercent { get; init; }
}

/// <summary>
/// One sample of a soak: the interval since the previous one (rates, latency percentiles, errors) and the
/// state of both relays at its end. Latencies are in microseconds, null when the interval had none.
/// </summary>
internal sealed record SoakSample
{
    /// <summary>Seconds since the load started, at the end of the interval.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>SENDs acknowledged (durable at B) per second.</summary>
    public double SendsPerSecond { get; init; }

    /// <summary>SEND_VIAs acknowledged (SEND_QUEUED, durable at A) per second.</summary>
    public double ViaPerSecond { get; init; }

    /// <summary>Messages the owners received per second, pushed or pulled.</summary>
    public double DeliveredPerSecond { get; init; }

    /// <summary>Acknowledged but not yet received by an owner, at the end of the interval.</summary>
    public long Backlog { get; init; }

    public long? SendP50 { get; init; }

    public long? SendP99 { get; init; }

    public long? ViaP50 { get; init; }

    public long? ViaP99 { get; init; }

    /// <summary>Intended send time to receipt by a push subscriber (direct and forwarded alike).</summary>
    public long? PushP50 { get; init; }

    public long? PushP99 { get; init; }

    /// <summary>Intended send time to receipt by a pulling owner (includes up to one pull interval).</summary>
    public long? PullP50 { get; init; }

    public long? PullP99 { get; init; }

    /// <summary>Errors since the load started, every code.</summary>
    public long Errors { get; init; }

    /// <summary>The machine's 1-minute load average (every process, not only the relays).</summary>
    public double? HostLoad1 { get; init; }

    /// <summary>The machine's CPU busy over the interval, every process, in percent of one core.</summary>
    public double? HostCpuPercent { get; init; }

    /// <summary>Relay B, receiving (SENDs, forwarded SENDs, owners).</summary>
    public RelayReading Receiving { get; init; } = new();

    /// <summary>Relay A, sending (SEND_VIA, its outbound log).</summary>
    public RelayReading Sending { get; init; } = new();
}

/// <summary>
/// The samples as CSV, one row per sample, a header of stable column names: what <c>soak-check</c> reads back
/// and what a spreadsheet opens. Empty cells are unknown values.
/// </summary>
internal static class SoakCsv
{
    public static readonly string[] Columns =
    [
        "elapsed_s", "sends_per_s", "via_per_s", "delivered_per_s", "backlog",
        "send_p50_us", "send_p99_us", "via_p50_us", "via_p99_us", "push_p50_us", "push_p99_us", "pull_p50_us", "pull_p99_us",
        "errors",
        "b_rss_bytes", "b_private_bytes", "b_gc_heap_bytes", "b_disk_bytes", "b_cpu_pct",
        "a_rss_bytes", "a_private_bytes", "a_gc_heap_bytes", "a_disk_bytes", "a_cpu_pct",
        "host_load1", "host_cpu_pct",
    ];

    public static string Header => string.Join(',', Columns);

    public static string Row(SoakSample s)
    {
        object?[] cells =
        [
            s.ElapsedSeconds, s.SendsPerSecond, s.ViaPerSecond, s.DeliveredPerSecond, s.Backlog,
            s.SendP50, s.SendP99, s.ViaP50, s.ViaP99, s.PushP50, s.PushP99, s.PullP50, s.PullP99,
            s.Errors,
            s.Receiving.RssBytes, s.Receiving.PrivateBytes, s.Receiving.GcHeapBytes, s.Receiving.DiskBytes, s.Receiving.CpuPercent,
            s.Sending.RssBytes, s.Sending.PrivateBytes, s.Sending.GcHeapBytes, s.Sending.DiskBytes, s.Sending.CpuPercent,
            s.HostLoad1, s.HostCpuPercent,
        ];
        return string.Join(',', cells.Select(Cell));
    }

    public static string Write(IEnumerable<SoakSample> samples)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var sample in samples)
        {
            text.Append(Row(sample)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// Reads CSV text into columns by header name (a column is a series of nullable doubles, one per row).
    /// Columns it does not know are kept too, so a check can read files written by a later version.
    /// </summary>
    public static SoakSeries Read(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0)
        {
            throw new FormatException("the samples file is empty (no header)");
        }

        var names = lines[0].Split(',');
        var columns = names.ToDictionary(n => n, _ => new List<double?>(lines.Length), StringComparer.Ordinal);
        for (int row = 1; row < lines.Length; row++)
        {
            var cells = lines[row].Split(',');
            if (cells.Length != names.Length)
            {
                throw new FormatException($"row {row + 1} has {cells.Length} cells, the header {names.Length}");
            }

            for (int i = 0; i < cells.Length; i++)
            {
                double? value = null;
                if (cells[i].Length > 0)
                {
                    value = double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                        ? parsed
                        : throw new FormatException($"row {row + 1}, column {names[i]}: '{cells[i]}' is not a number");
                }

                columns[names[i]].Add(value);
            }
        }

        return new SoakSeries(columns.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<double?>)kv.Value, StringComparer.Ordinal));
    }

    private static string Cell(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Samples by column name, as read back from CSV.</summary>
internal sealed record SoakSeries(IReadOnlyDictionary<string, IReadOnlyList<double?>> Columns)
{
    public int Count => Columns.TryGetValue("elapsed_s", out var t) ? t.Count : 0;

    public IReadOnlyList<double?>? this[string name] => Columns.TryGetValue(name, out var column) ? column : null;
}
