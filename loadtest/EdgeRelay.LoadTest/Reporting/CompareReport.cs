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
/// where they cannot be known (see <see cref="RunResult.ServerCpuMicrosecondsPerMessage"/>); "client CPU" the
/// generator's own, per message. Every row states its traffic (addresses, fresh share), and the footnote says
/// what those mean to each kind of target.
/// </summary>
internal static class CompareReport
{
    internal static readonly string[] Columns =
    [
        "target", "durability of an ack", "scenario", "conns x in-flight", "addresses", "fresh", "payload B", "msgs/s", "MB/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs",
        "errors", "server CPU µs/msg", "client CPU µs/msg", "server alloc B/msg", "vs raw-sink",
    ];

    /// <summary>The terminal's table leaves out the columns every row shares (they go in its title) and the durability (<see cref="DurabilityLegend"/>).</summary>
    private static readonly int[] TerminalColumns = [0, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];

    /// <summary>Left-aligned: text, not figures.</summary>
    private static readonly int[] TextColumns = [0, 1, 2, 13];

    /// <summary>Shorter headers on the terminal for the widest columns; <see cref="ServerUsageLegend"/> says whose they are.</summary>
    private static readonly Dictionary<int, string> TerminalHeaders = new() { [4] = "addr", [14] = "srv CPU µs", [15] = "cli CPU µs", [16] = "alloc B", [17] = "vs sink" };

    /// <summary>Printed under the terminal's table, whose server columns have short headers.</summary>
    public const string ServerUsageLegend =
        "srv CPU µs, alloc B: the server process's own CPU time and managed allocations per message (- = not known for that target); "
        + "cli CPU µs: the generator's own process per message (for raw-sink, raw-fasterlog and an in-process relay, the server's too)";

    /// <summary>
    /// What the traffic columns mean to each kind of target; then, per row that derived fresh addresses, where
    /// they came from. Under the terminal's table and the markdown one.
    /// </summary>
    public static string TrafficLegend(IReadOnlyList<CompareOutcome> outcomes)
    {
        var sb = new StringBuilder();
        sb.AppendLine("addresses, fresh: long-term addresses the SENDs are spread over, and the share of SENDs on a newly derived ephemeral address.");
        sb.AppendLine("  edgerelay: a fresh SEND is a resolution-cache miss, one HPKE open; past a connection's budget of opens the relay refuses it with RATE_LIMITED (counted under errors).");
        sb.AppendLine("  redis, nats: N keys / N subjects; they have no ephemeral addresses and nothing to resolve, so a fresh SEND goes to the same N keys at no extra cost.");
        sb.AppendLine("  raw-sink: resolves nothing; fresh SENDs carry the key's address bytes. raw-fasterlog: one log, the traffic columns do not apply.");
        foreach (var line in ForwardingLines(outcomes))
        {
            sb.AppendLine(line);
        }

        foreach (var outcome in outcomes)
        {
            if (outcome.Result?.FreshAddresses is { } fresh)
            {
                sb.AppendLine(FormattableString.Invariant($"  fresh addresses, {outcome.Label} at {outcome.Mix.Addresses:N0} addresses: {fresh.Source}"));
            }
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>
    /// Per traffic with an edgerelay-forward row: its figures beside the direct relay's of the same compare
    /// (same scenario, payload, connections, in-flight, addresses), and the ratio of the two msgs/s.
    /// </summary>
    internal static IEnumerable<string> ForwardingLines(IReadOnlyList<CompareOutcome> outcomes)
    {
        foreach (var forward in outcomes.Where(o => o.Row.Target == TargetCatalog.EdgeRelayForward && o.Result is not null))
        {
            var f = forward.Result!;
            var direct = outcomes.FirstOrDefault(o => o.Row.Target == TargetCatalog.EdgeRelay && o.Mix == forward.Mix && o.Result is not null)?.Result;
            var ratio = direct is { ErrorDominated: false, MessagesPerSecond: > 0 } && !f.ErrorDominated
                ? string.Create(CultureInfo.InvariantCulture, $"{f.MessagesPerSecond / direct.MessagesPerSecond:0.00}x edgerelay direct to B")
                : "no direct edgerelay row of the same traffic to compare with";
            yield return string.Create(
                CultureInfo.InvariantCulture,
                $"  edgerelay-forward (RM -> A -> B -> owner; srv CPU = B's): {ResultWriters.ThroughputText(f)} msgs/s ({ratio}); acked by A {f.ForwarderAckedPerSecond:N0} msgs/s; A's CPU {f.ForwarderCpuMicrosecondsPerMessage?.ToString("N1", CultureInfo.InvariantCulture) ?? "-"} µs/msg");
        }
    }

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
            table.AddColumn(TextColumns.Contains(i) ? new TableColumn(header) : new TableColumn(header).RightAligned());
        }

        foreach (var cells in Rows(outcomes, settings))
        {
            table.AddRow([.. TerminalColumns.Select(i => Markup.Escape(cells[i]))]);
        }

        return table;
    }

    /// <summary>What an ack means, per target that ran (once, whatever the traffic): printed under the terminal's table.</summary>
    public static string DurabilityLegend(IReadOnlyList<CompareOutcome> outcomes) =>
        "what an ack means:" + Environment.NewLine
        + string.Join(Environment.NewLine, outcomes.Where(o => o.Result is not null).Select(o => $"  {o.Result!.Label}: {o.Result.Durability}").Distinct(StringComparer.Ordinal));

    public static string ToMarkdown(IReadOnlyList<CompareOutcome> outcomes, RunSettings settings)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", Columns) + " |");
        sb.AppendLine("|" + string.Concat(Columns.Select((_, i) => TextColumns.Contains(i) ? "---|" : "--:|")));
        foreach (var cells in Rows(outcomes, settings))
        {
            sb.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
        }

        sb.AppendLine();
        foreach (var line in (ServerUsageLegend + Environment.NewLine + TrafficLegend(outcomes)).Split(Environment.NewLine))
        {
            sb.AppendLine(line.StartsWith("  ", StringComparison.Ordinal) ? "  - " + line.TrimStart() : "- " + line);
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
        foreach (var outcome in outcomes)
        {
            var mix = outcome.Mix;
            var fresh = (mix.FreshRatio * 100).ToString("0.##", c) + "%";
            if (outcome.Result is not { } r)
            {
                yield return [outcome.Label, "", settings.Scenario, "", mix.Addresses.ToString("N0", c), fresh, settings.PayloadBytes.ToString(c), outcome.Note ?? "", "", "", "", "", "", "", "", "", "", ""];
                continue;
            }

            // The ceiling of the same traffic; the first mix's when this one has no raw-sink row.
            double? ceiling = (outcomes.FirstOrDefault(o => o.Row.Target == TargetCatalog.RawSink && o.Mix == mix && o.Result is not null)
                ?? outcomes.FirstOrDefault(o => o.Row.Target == TargetCatalog.RawSink && o.Result is not null))?.Result?.MessagesPerSecond;
            var l = ResultWriters.ShownLatency(r);
            yield return
            [
                r.Label, r.Durability, r.Scenario, string.Create(c, $"{r.Connections} x {r.InFlight}"), r.Addresses.ToString("N0", c), ResultWriters.FreshText(r),
                r.PayloadBytes.ToString(c), ResultWriters.ThroughputText(r), r.ErrorDominated ? "-" : r.MegabytesPerSecond.ToString("N1", c),
                ResultWriters.Micros(l?.P50), ResultWriters.Micros(l?.P99), ResultWriters.Micros(l?.P999), ResultWriters.Micros(l?.Max),
                ResultWriters.ErrorsText(r), ResultWriters.ServerCpuText(r), ResultWriters.ClientCpuText(r), ResultWriters.ServerAllocText(r),
                ceiling is > 0 && !r.ErrorDominated ? string.Create(c, $"{r.MessagesPerSecond / ceiling.Value:0.00}x") : "-",
            ];
        }
    }
}
