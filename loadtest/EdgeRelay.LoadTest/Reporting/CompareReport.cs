using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>
/// <c>compare</c>'s outputs: one table on the terminal and in markdown (a row per target, skipped ones saying
/// why), and a JSON array of the run objects <c>--json</c> writes for <c>run</c> (rows that did not run have
/// no object). "vs raw-sink" is msgs/s over the raw sink's: the share of the machine's ceiling reached. "server
/// CPU" and "server alloc" are the server process's own CPU time and managed allocations per message, a dash
/// where they cannot be known (see <see cref="RunResult.ServerCpuMicrosecondsPerMessage"/>).
/// </summary>
internal static class CompareReport
{
    private static readonly string[] Columns =
        ["target", "durability of an ack", "scenario", "conns x in-flight", "payload B", "msgs/s", "MB/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "errors", "server CPU µs/msg", "server alloc B/msg", "vs raw-sink"];

    /// <summary>The terminal's table leaves out the columns every row shares (they go in its title) and the durability (<see cref="DurabilityLegend"/>), to fit 80 columns.</summary>
    private static readonly int[] TerminalColumns = [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

    /// <summary>Shorter headers on the terminal for the widest columns; <see cref="ServerUsageLegend"/> says whose they are.</summary>
    private static readonly Dictionary<int, string> TerminalHeaders = new() { [12] = "CPU µs/msg", [13] = "alloc B/msg" };

    /// <summary>Printed under the terminal's table, whose server columns have short headers.</summary>
    public const string ServerUsageLegend = "CPU µs/msg, alloc B/msg: the server process's own CPU time and managed allocations per message (- = not known for that target)";

    public static Table BuildTable(IReadOnlyList<CompareOutcome> outcomes, RunSettings settings)
    {
        var first = outcomes.FirstOrDefault(o => o.Result is not null)?.Result;
        var title = string.Create(
            CultureInfo.InvariantCulture,
            $"{settings.Scenario}, {settings.PayloadBytes} B, {settings.Connections} x {first?.InFlight ?? settings.InFlight}, {DurationText.Format(settings.Duration)} each");
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        foreach (int i in TerminalColumns)
        {
            var header = TerminalHeaders.GetValueOrDefault(i, Columns[i]);
            table.AddColumn(i is 0 or 11 ? new TableColumn(header) : new TableColumn(header).RightAligned());
        }

        foreach (var cells in Rows(outcomes, settings))
        {
            table.AddRow([.. TerminalColumns.Select(i => Markup.Escape(cells[i]))]);
        }

        return table;
    }

    /// <summary>What an ack means, per row that ran: printed under the terminal's table.</summary>
    public static string DurabilityLegend(IReadOnlyList<CompareOutcome> outcomes) =>
        "what an ack means:" + Environment.NewLine
        + string.Join(Environment.NewLine, outcomes.Where(o => o.Result is not null).Select(o => $"  {o.Result!.Label}: {o.Result.Durability}"));

    public static string ToMarkdown(IReadOnlyList<CompareOutcome> outcomes, RunSettings settings)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", Columns) + " |");
        sb.AppendLine("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|");
        foreach (var cells in Rows(outcomes, settings))
        {
            sb.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        return sb.ToString();
    }

    public static string ToJson(IReadOnlyList<CompareOutcome> outcomes)
    {
        var results = outcomes.Where(o => o.Result is not null).Select(o => o.Result!).ToList();
        return JsonSerializer.Serialize(results, RunResultJsonContext.Default.ListRunResult);
    }

    public static async Task WriteFilesAsync(IReadOnlyList<CompareOutcome> outcomes, RunSettings settings, string? jsonPath, string? markdownPath)
    {
        if (jsonPath is not null)
        {
            await File.WriteAllTextAsync(jsonPath, ToJson(outcomes) + Environment.NewLine);
        }

        if (markdownPath is not null)
        {
            await File.WriteAllTextAsync(markdownPath, ToMarkdown(outcomes, settings));
        }
    }

    private static IEnumerable<string[]> Rows(IReadOnlyList<CompareOutcome> outcomes, RunSettings settings)
    {
        var c = CultureInfo.InvariantCulture;
        double? ceiling = outcomes.FirstOrDefault(o => o.Row.Target == TargetCatalog.RawSink)?.Result?.MessagesPerSecond;
        foreach (var outcome in outcomes)
        {
            if (outcome.Result is not { } r)
            {
                yield return [outcome.Label, "", settings.Scenario, "", settings.PayloadBytes.ToString(c), outcome.Note ?? "", "", "", "", "", "", "", "", "", ""];
                continue;
            }

            var l = r.Latency;
            yield return
            [
                r.Label, r.Durability, r.Scenario, string.Create(c, $"{r.Connections} x {r.InFlight}"), r.PayloadBytes.ToString(c),
                r.MessagesPerSecond.ToString("N0", c), r.MegabytesPerSecond.ToString("N1", c),
                l.P50.ToString("N0", c), l.P99.ToString("N0", c), l.P999.ToString("N0", c), l.Max.ToString("N0", c),
                ResultWriters.ErrorsText(r), ResultWriters.ServerCpuText(r), ResultWriters.ServerAllocText(r),
                ceiling is > 0 ? string.Create(c, $"{r.MessagesPerSecond / ceiling.Value:0.00}x") : "-",
            ];
        }
    }
}
