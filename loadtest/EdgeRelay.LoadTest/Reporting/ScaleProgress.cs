using System.Globalization;
using EdgeRelay.LoadTest.Engine;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>
/// <c>scale</c>'s rows as each run is measured: a markdown row per run (copied as it stands into a report), read
/// against the baseline run of its own pair, so an operator watching a long command sees the curve form and an
/// interrupted one leaves its rows on the terminal. The tables of medians come at the end, as before.
/// </summary>
internal static class ScaleProgress
{
    /// <summary>The columns of <see cref="SeriesReport.Columns"/> with the pair in place of the run count.</summary>
    private static readonly string[] Columns = ["pair", .. SeriesReport.Columns.Where(c => c != "runs")];

    /// <summary>The lines to print for <paramref name="step"/>: the scenario's header before its first row, then the row.</summary>
    public static IEnumerable<string> Lines(ScaleStep step, string title)
    {
        if (step.Pair == 0 && step.PairRuns.Count == 1)
        {
            yield return "";
            yield return $"{title}: each run as measured; vs baseline = msgs/s over the {ScalePlan.BaselineLabel} run of the same pair";
            yield return "| " + string.Join(" | ", Columns) + " |";
            yield return "|---|---|" + string.Concat(Enumerable.Repeat("--:|", Columns.Length - 2));
        }

        yield return Row(step);
    }

    /// <summary>The new run's row: its figures, and its ratio to the pair's baseline run when both have a figure.</summary>
    public static string Row(ScaleStep step)
    {
        var run = step.Run;
        var baseline = step.Plan.Baseline;
        IReadOnlyList<SeriesRun> runs = run.Case == baseline ? [run] : [.. step.PairRuns.Where(r => r.Case == baseline).Take(1), run];
        var summary = SeriesReport.Summarise(runs, [run.Case], baseline)[0];
        var cells = SeriesReport.Rows([summary]).Single();
        var label = cells[0] + string.Concat(summary.Notes.Select(n => $" ({n})"));
        string[] row = [string.Create(CultureInfo.InvariantCulture, $"{step.Pair + 1}/{step.Pairs}"), label, .. cells[2..]];
        return "| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |";
    }
}
