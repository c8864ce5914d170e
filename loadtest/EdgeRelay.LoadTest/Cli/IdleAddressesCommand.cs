using System.CommandLine;
using System.Globalization;
using EdgeRelay.LoadTest.Engine;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>idle-addresses</c>: fills a data folder with many addresses that receive nothing, then starts the relay on
/// it several times and reports its start-up time and memory (issue 15's ten million idle addresses).
/// </summary>
internal static class IdleAddressesCommand
{
    public static Command Build()
    {
        var count = new Option<int>("--count") { Description = "Addresses to create in an empty --data folder. Default 1000000.", DefaultValueFactory = _ => 1_000_000 };
        var data = new Option<string>("--data") { Description = "The data folder: filled when empty, measured as it is otherwise (so a second run skips the creation). Kept afterwards; delete it yourself.", Required = true, HelpName = "DIR" };
        var runs = new Option<int>("--runs") { Description = "Relay starts to measure. Default 5.", DefaultValueFactory = _ => 5 };
        var settle = new Option<double>("--settle") { Description = "Seconds the relay runs after it is ready before its memory is read. Default 3.", DefaultValueFactory = _ => 3 };
        var command = new Command("idle-addresses", "Create --count addresses in --data through the store's API (unless it holds a store already), then start the relay in its own process on it --runs times: time and relay CPU from process start to /readyz, resident memory (VmRSS, peak VmHWM) and GC heap after --settle seconds; the relay is killed after each. Beside each start, the baseline: seconds for this process to fault in as many fresh bytes as the relay held at most (one write per page), the machine's own cost of that memory.")
        {
            count, data, runs, settle,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new IdleRunSettings
            {
                Count = result.GetValue(count),
                DataDir = result.GetValue(data)!,
                Runs = result.GetValue(runs),
                Settle = TimeSpan.FromSeconds(result.GetValue(settle)),
            };
            if (await LoadTestCommandLine.RefuseInvalidAsync(settings.Validate().ToList()))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            var c = CultureInfo.InvariantCulture;
            var (created, elapsed) = await IdleAddressRun.CreateAsync(settings, Console.WriteLine, cancellationToken);
            if (created > 0)
            {
                Console.WriteLine(string.Create(c, $"created {created:N0} addresses in {elapsed.TotalSeconds:F1} s ({created / elapsed.TotalSeconds:N0}/s)"));
            }

            Console.WriteLine("| start | ready s | CPU s by ready | RSS MiB | peak RSS MiB | GC heap MiB | CPU s while settling | fault-in of peak RSS s (baseline) | ready / fault-in |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var results = new List<IdleStartResult>();
            var faultIns = new List<double>();
            for (var i = 1; i <= settings.Runs; i++)
            {
                var r = await IdleAddressRun.StartOnceAsync(settings, cancellationToken);
                results.Add(r);

                // Measured after the relay is gone, in this process, for as many bytes as the relay held at most.
                var faultIn = MemoryFaultIn.Measure(r.PeakResidentBytes).TotalSeconds;
                faultIns.Add(faultIn);
                Console.WriteLine(string.Create(c, $"| {i} | {r.ReadyAfter.TotalSeconds:F2} | {r.ReadyCpu.TotalSeconds:F2} | {r.ResidentBytes / 1048576.0:F0} | {r.PeakResidentBytes / 1048576.0:F0} | {r.GcHeapBytes / 1048576.0:F0} | {r.SettleCpu.TotalSeconds:F2} | {faultIn:F2} | {r.ReadyAfter.TotalSeconds / faultIn:F2} |"));
            }

            Console.WriteLine(string.Create(c, $"median of {results.Count}: ready {Median(results, r => r.ReadyAfter.TotalSeconds):F2} s (min {results.Min(r => r.ReadyAfter.TotalSeconds):F2}, max {results.Max(r => r.ReadyAfter.TotalSeconds):F2}), CPU by ready {Median(results, r => r.ReadyCpu.TotalSeconds):F2} s (min {results.Min(r => r.ReadyCpu.TotalSeconds):F2}, max {results.Max(r => r.ReadyCpu.TotalSeconds):F2}), RSS {Median(results, r => r.ResidentBytes) / 1048576.0:F0} MiB (min {results.Min(r => r.ResidentBytes) / 1048576.0:F0}, max {results.Max(r => r.ResidentBytes) / 1048576.0:F0}), peak RSS {Median(results, r => r.PeakResidentBytes) / 1048576.0:F0} MiB, GC heap {Median(results, r => r.GcHeapBytes ?? double.NaN) / 1048576.0:F0} MiB; fault-in of the peak RSS {MedianOf(faultIns):F2} s (min {faultIns.Min():F2}, max {faultIns.Max():F2})"));
            return 0;
        });
        return command;
    }

    private static double Median(List<IdleStartResult> results, Func<IdleStartResult, double> value) => MedianOf(results.Select(value));

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
