using System.Globalization;
using EdgeRelay.LoadTest.Engine;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>Shows progress while <c>run</c> executes; <c>run</c> calls the update action with each snapshot.</summary>
internal interface IProgressDisplay
{
    Task ShowAsync(Func<Action<ProgressSnapshot>, Task> run);
}

internal static class ProgressDisplay
{
    /// <summary>A live Spectre view on a terminal; a plain line per second when output is redirected (CI logs, files).</summary>
    public static IProgressDisplay ForConsole() =>
        Console.IsOutputRedirected ? new PlainProgressDisplay(Console.Out) : new LiveProgressDisplay();

    public static string Line(ProgressSnapshot s)
    {
        var c = CultureInfo.InvariantCulture;
        string p99 = s.RecentP99Micros is { } p ? p.ToString(c) + " µs" : "-";
        return string.Create(c, $"[{s.Elapsed.TotalSeconds,6:0.0}s / {s.Planned.TotalSeconds:0}s] {PhaseText(s.Phase),-8} {s.MessagesPerSecond,12:N0} msgs/s  p99 {p99,-12} measured {s.Measured:N0}  errors {s.Errors:N0}");
    }

    public static string PhaseText(RunPhase phase) => phase switch
    {
        RunPhase.Warmup => "warm-up",
        RunPhase.Measure => "measure",
        RunPhase.Drain => "drain",
        _ => "done",
    };
}

/// <summary>One line per second, nothing else: readable in a log file.</summary>
internal sealed class PlainProgressDisplay(TextWriter output) : IProgressDisplay
{
    public Task ShowAsync(Func<Action<ProgressSnapshot>, Task> run)
    {
        long lastSecond = -1;
        return run(snapshot =>
        {
            long second = (long)snapshot.Elapsed.TotalSeconds;
            if (second != lastSecond || snapshot.Phase == RunPhase.Done)
            {
                lastSecond = second;
                output.WriteLine(ProgressDisplay.Line(snapshot));
            }
        });
    }
}

/// <summary>A Spectre live table, redrawn on every snapshot (about four times a second).</summary>
internal sealed class LiveProgressDisplay : IProgressDisplay
{
    public Task ShowAsync(Func<Action<ProgressSnapshot>, Task> run) =>
        AnsiConsole.Live(Render(null)).AutoClear(false).StartAsync(context => run(snapshot =>
        {
            context.UpdateTarget(Render(snapshot));
            context.Refresh();
        }));

    private static Table Render(ProgressSnapshot? snapshot)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumns("elapsed", "phase", "msgs/s", "p99 (last 1 s)", "measured", "errors");
        if (snapshot is { } s)
        {
            table.AddRow(
                string.Create(c, $"{s.Elapsed.TotalSeconds:0.0}s / {s.Planned.TotalSeconds:0}s"),
                ProgressDisplay.PhaseText(s.Phase),
                s.MessagesPerSecond.ToString("N0", c),
                s.RecentP99Micros is { } p ? p.ToString("N0", c) + " µs" : "-",
                s.Measured.ToString("N0", c),
                s.Errors == 0 ? "0" : $"[red]{s.Errors.ToString("N0", c)}[/]");
        }
        else
        {
            table.AddRow("0.0s", "starting", "-", "-", "-", "-");
        }

        return table;
    }
}
