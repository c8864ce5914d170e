using ScottPlot;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>
/// The soak's charts, one PNG a quantity over time (memory, disk, CPU, latency p99 and p50, throughput),
/// small enough to commit beside the docs (900 x 400 by default).
/// </summary>
internal static class SoakPlots
{
    private const double Mib = 1 << 20;

    public static IReadOnlyList<string> Write(SoakSeries samples, string directory, int width = 900, int height = 400)
    {
        Directory.CreateDirectory(directory);
        var charts = new (string File, string Title, string YLabel, (string Column, string Legend, double Scale)[] Lines)[]
        {
            ("memory.png", "Relay memory", "MiB",
            [
                ("b_rss_bytes", "B RSS", Mib), ("b_private_bytes", "B private", Mib), ("b_gc_heap_bytes", "B GC heap", Mib),
                ("a_rss_bytes", "A RSS", Mib), ("a_private_bytes", "A private", Mib), ("a_gc_heap_bytes", "A GC heap", Mib),
            ]),
            ("disk.png", "Data folder on disk", "MiB", [("b_disk_bytes", "B (receiving)", Mib), ("a_disk_bytes", "A (sending)", Mib)]),
            ("cpu.png", "CPU", "% of one core", [("b_cpu_pct", "B (receiving)", 1), ("a_cpu_pct", "A (sending)", 1), ("host_cpu_pct", "machine, every process", 1)]),
            ("machine.png", "The machine (shared)", "1-minute load average", [("host_load1", "load average", 1)]),
            ("latency-p99.png", "Latency p99 per interval", "ms",
            [
                ("send_p99_us", "SEND ack", 1000), ("via_p99_us", "SEND_VIA ack", 1000), ("push_p99_us", "send to push receipt", 1000), ("pull_p99_us", "send to pull receipt", 1000),
            ]),
            ("latency-p50.png", "Latency p50 per interval", "ms",
            [
                ("send_p50_us", "SEND ack", 1000), ("via_p50_us", "SEND_VIA ack", 1000), ("push_p50_us", "send to push receipt", 1000), ("pull_p50_us", "send to pull receipt", 1000),
            ]),
            ("throughput.png", "Throughput", "messages/s (backlog: messages)",
            [
                ("sends_per_s", "SENDs acked/s", 1), ("via_per_s", "SEND_VIAs acked/s", 1), ("delivered_per_s", "delivered/s", 1), ("backlog", "backlog", 1),
            ]),
        };

        var written = new List<string>(charts.Length);
        var time = samples["elapsed_s"] ?? throw new FormatException("no elapsed_s column");
        foreach (var chart in charts)
        {
            var plot = new Plot();
            plot.Title(chart.Title);
            plot.XLabel("seconds since the load started");
            plot.YLabel(chart.YLabel);
            foreach (var (column, legend, scale) in chart.Lines)
            {
                var values = samples[column];
                if (values is null)
                {
                    continue;
                }

                // Unknown values are left out rather than drawn as zero.
                var rows = Enumerable.Range(0, values.Count).Where(i => values[i] is not null && time[i] is not null).ToArray();
                if (rows.Length == 0)
                {
                    continue;
                }

                var line = plot.Add.Scatter(rows.Select(i => time[i]!.Value).ToArray(), rows.Select(i => values[i]!.Value / scale).ToArray());
                line.LegendText = legend;
                line.MarkerSize = rows.Length > 60 ? 0 : 4;
                line.LineWidth = 1.5f;
            }

            plot.Axes.Bottom.Min = 0;
            plot.ShowLegend(Edge.Right);
            var path = Path.Combine(directory, chart.File);
            plot.SavePng(path, width, height);
            written.Add(path);
        }

        return written;
    }
}
