using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeRelay.LoadTest.Engine;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>The median, least and greatest of one figure over a case's runs.</summary>
internal readonly record struct Spread(double Median, double Min, double Max, int Count)
{
    /// <summary>Null when there is no value: a figure that no run of the case produced.</summary>
    public static Spread? Of(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Spread(median, sorted[0], sorted[^1], sorted.Length);
    }

    public string Format(string format) => Count == 1
        ? Median.ToString(format, CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Median.ToString(format, CultureInfo.InvariantCulture)} ({Min.ToString(format, CultureInfo.InvariantCulture)}–{Max.ToString(format, CultureInfo.InvariantCulture)})");
}

/// <summary>One case's figures over its rounds. Runs whose errors dominated their window count as no figure.</summary>
internal sealed record SeriesSummary(
    SeriesCase Case,
    bool IsBaseline,
    int Runs,
    int Figures,
    Spread? MessagesPerSecond,
    Spread? RatioToBaseline,
    Spread? ServerCpuMicroseconds,
    Spread? ClientCpuMicroseconds,
    Spread? ServerAllocBytes,
    Spread? P99Microseconds,
    long Errors,
    IReadOnlyList<string> Notes)
{
    /// <summary>The median (p50) latency, from the same latencies as <see cref="P99Microseconds"/>.</summary>
    public Spread? P50Microseconds { get; init; }
}

/// <summary><c>series</c>' outputs: a table on the terminal and in markdown, and JSON with every run.</summary>
internal static class SeriesReport
{
    internal static readonly string[] Columns =
    [
        "case", "runs", "msgs/s", "vs baseline", "server CPU µs/msg", "client CPU µs/msg", "server alloc B/msg", "p50 µs", "p99 µs", "errors",
    ];

    public static List<SeriesSummary> Summarise(IReadOnlyList<SeriesRun> runs, IReadOnlyList<SeriesCase> cases, SeriesCase baseline)
    {
        var baselineByRound = runs.Where(r => r.Case == baseline && HasFigure(r)).ToDictionary(r => r.Round, r => r.Result!.MessagesPerSecond);
        var summaries = new List<SeriesSummary>();
        foreach (var @case in cases)
        {
            var own = runs.Where(r => r.Case == @case).ToList();
            var measured = own.Where(HasFigure).Select(r => r.Result!).ToList();
            var ratios = own.Where(HasFigure)
                .Where(r => baselineByRound.TryGetValue(r.Round, out var b) && b > 0)
                .Select(r => r.Result!.MessagesPerSecond / baselineByRound[r.Round]);
            summaries.Add(new SeriesSummary(
                @case,
                @case == baseline,
                own.Count,
                measured.Count,
                Spread.Of(measured.Select(r => r.MessagesPerSecond)),
                Spread.Of(ratios),
                Spread.Of(measured.Where(r => r.ServerCpuMicrosecondsPerMessage is not null).Select(r => r.ServerCpuMicrosecondsPerMessage!.Value)),
                Spread.Of(measured.Where(r => r.ClientCpuMicrosecondsPerMessage is not null).Select(r => r.ClientCpuMicrosecondsPerMessage!.Value)),
                Spread.Of(measured.Where(r => r.ServerAllocBytesPerMessage is not null).Select(r => r.ServerAllocBytesPerMessage!.Value)),
                Spread.Of(measured.Where(r => ResultWriters.ShownLatency(r) is not null).Select(r => (double)ResultWriters.ShownLatency(r)!.P99)),
                own.Where(r => r.Result is not null).Sum(r => r.Result!.Errors.Values.Sum()),
                [.. own.Select(r => r.Note ?? (r.Result is { ErrorDominated: true } e ? ResultWriters.ErrorDominatedMessage(e) : null)).OfType<string>().Distinct(StringComparer.Ordinal)])
            {
                P50Microseconds = Spread.Of(measured.Where(r => ResultWriters.ShownLatency(r) is not null).Select(r => (double)ResultWriters.ShownLatency(r)!.P50)),
            });
        }

        return summaries;
    }

    public static Table BuildTable(IReadOnlyList<SeriesSummary> summaries, int repeat) =>
        BuildTable(summaries, string.Create(CultureInfo.InvariantCulture, $"{repeat} interleaved round(s): median (min–max)"));

    public static Table BuildTable(IReadOnlyList<SeriesSummary> summaries, string title)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        for (var i = 0; i < Columns.Length; i++)
        {
            table.AddColumn(i == 0 ? new TableColumn(Columns[i]) : new TableColumn(Columns[i]).RightAligned());
        }

        foreach (var cells in Rows(summaries))
        {
            table.AddRow([.. cells.Select(Markup.Escape)]);
        }

        return table;
    }

    /// <summary>What each case ran and what the figures mean; under the terminal's table and the markdown one.</summary>
    public static string Legend(IReadOnlyList<SeriesSummary> summaries, int repeat)
    {
        var baseline = summaries.First(s => s.IsBaseline).Case.Label;
        return Legend(
            summaries,
            [
                string.Create(CultureInfo.InvariantCulture, $"{repeat} round(s), every case once per round, round r starting at case r; each figure is the median over the runs with a figure, then (min–max)."),
                $"vs baseline: the case's msgs/s over {baseline}'s in the same round, then the median of those ratios.",
            ]);
    }

    /// <param name="howTaken">First lines: how the runs were ordered and what the ratio is taken against.</param>
    public static string Legend(IReadOnlyList<SeriesSummary> summaries, IEnumerable<string> howTaken)
    {
        var sb = new StringBuilder();
        foreach (var line in howTaken)
        {
            sb.AppendLine(line);
        }

        sb.AppendLine("server CPU and alloc: the server process's own CPU time and managed allocations per message; client CPU: the generator's (for raw-sink, raw-fasterlog and an in-process relay, the server's too).");
        foreach (var s in summaries)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {s.Case.Label}: run {s.Case.Args}");
            foreach (var note in s.Notes)
            {
                sb.AppendLine("    " + note);
            }
        }

        return sb.ToString().TrimEnd();
    }

    public static string ToMarkdown(IReadOnlyList<SeriesSummary> summaries, int repeat) => ToMarkdown(summaries, Legend(summaries, repeat));

    /// <summary>The table, then <paramref name="legend"/> as a list.</summary>
    public static string ToMarkdown(IReadOnlyList<SeriesSummary> summaries, string legend)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", Columns) + " |");
        sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("--:|", Columns.Length - 1)));
        foreach (var cells in Rows(summaries))
        {
            sb.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        sb.AppendLine();
        foreach (var line in legend.Split(Environment.NewLine))
        {
            sb.AppendLine(line.StartsWith("  ", StringComparison.Ordinal) ? "  - " + line.TrimStart() : "- " + line);
        }

        return sb.ToString();
    }

    public static string ToJson(IReadOnlyList<SeriesSummary> summaries, IReadOnlyList<SeriesRun> runs, int repeat)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("rounds", repeat);
            w.WriteStartArray("cases");
            foreach (var s in summaries)
            {
                w.WriteStartObject();
                w.WriteString("label", s.Case.Label);
                w.WriteString("args", s.Case.Args);
                w.WriteBoolean("baseline", s.IsBaseline);
                w.WriteStartObject("summary");
                WriteSpread(w, "msgs_per_s", s.MessagesPerSecond);
                WriteSpread(w, "ratio_to_baseline", s.RatioToBaseline);
                WriteSpread(w, "server_cpu_us_per_msg", s.ServerCpuMicroseconds);
                WriteSpread(w, "client_cpu_us_per_msg", s.ClientCpuMicroseconds);
                WriteSpread(w, "server_alloc_bytes_per_msg", s.ServerAllocBytes);
                WriteSpread(w, "p50_us", s.P50Microseconds);
                WriteSpread(w, "p99_us", s.P99Microseconds);
                w.WriteNumber("errors", s.Errors);
                w.WriteEndObject();
                w.WriteStartArray("runs");
                foreach (var run in runs.Where(r => r.Case == s.Case).OrderBy(r => r.Round))
                {
                    if (run.Result is { } result)
                    {
                        JsonSerializer.Serialize(w, result, RunResultJsonContext.Default.RunResult);
                    }
                    else
                    {
                        w.WriteStartObject();
                        w.WriteString("note", run.Note);
                        w.WriteEndObject();
                    }
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static async Task WriteFilesAsync(IReadOnlyList<SeriesSummary> summaries, IReadOnlyList<SeriesRun> runs, int repeat, string? jsonPath, string? markdownPath)
    {
        if (jsonPath is not null)
        {
            await File.WriteAllTextAsync(jsonPath, ToJson(summaries, runs, repeat) + Environment.NewLine);
        }

        if (markdownPath is not null)
        {
            await File.WriteAllTextAsync(markdownPath, ToMarkdown(summaries, repeat));
        }
    }

    private static bool HasFigure(SeriesRun run) => run.Result is { ErrorDominated: false };

    private static void WriteSpread(Utf8JsonWriter w, string name, Spread? spread)
    {
        if (spread is not { } s)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        w.WriteNumber("median", s.Median);
        w.WriteNumber("min", s.Min);
        w.WriteNumber("max", s.Max);
        w.WriteNumber("count", s.Count);
        w.WriteEndObject();
    }

    /// <summary>The cells of each case's row, in the order of <see cref="Columns"/>.</summary>
    internal static IEnumerable<string[]> Rows(IReadOnlyList<SeriesSummary> summaries)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var s in summaries)
        {
            yield return
            [
                s.IsBaseline ? s.Case.Label + " (baseline)" : s.Case.Label,
                string.Create(c, $"{s.Figures}/{s.Runs}"),
                s.MessagesPerSecond?.Format("N0") ?? "-",
                s.IsBaseline ? "1.00" : s.RatioToBaseline?.Format("0.00") ?? "-",
                s.ServerCpuMicroseconds?.Format("N1") ?? "-",
                s.ClientCpuMicroseconds?.Format("N1") ?? "-",
                s.ServerAllocBytes?.Format("N0") ?? "-",
                s.P50Microseconds?.Format("N0") ?? "-",
                s.P99Microseconds?.Format("N0") ?? "-",
                s.Errors.ToString("N0", c),
            ];
        }
    }
}
