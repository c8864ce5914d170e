using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Which types a process allocates, by bytes: the runtime raises an allocation tick about every 100 KB
// allocated, naming the type of the object that crossed the mark, so over a few seconds of steady load
// the ticks sample the allocation by type. Found the per-commit commit files, the DELIVER arrays and the
// pending queue's doublings in docs/PERFORMANCE.md ("Profile findings").
//
// Usage: edgerelay-allocations PID [SECONDS] [TOP]
if (args.Length is < 1 or > 3 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var pid))
{
    Console.Error.WriteLine("usage: edgerelay-allocations PID [SECONDS=4] [TOP=25]");
    return 2;
}

var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 4;
var top = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 25;

var providers = new[]
{
    new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC),
};
using var session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: false);
var bytesByType = new Dictionary<string, long>(StringComparer.Ordinal);
using var source = new EventPipeEventSource(session.EventStream);
source.Clr.GCAllocationTick += tick =>
{
    var key = tick.TypeName + (tick.AllocationKind == GCAllocationKind.Large ? " [LOH]" : "");
    bytesByType[key] = bytesByType.GetValueOrDefault(key) + tick.AllocationAmount64;
};

var processing = Task.Run(source.Process);
await Task.Delay(TimeSpan.FromSeconds(seconds));
session.Stop();
await processing;

var total = bytesByType.Values.Sum();
Console.WriteLine(FormattableString.Invariant($"sampled {total:N0} bytes over {seconds} s"));
foreach (var (type, bytes) in bytesByType.OrderByDescending(p => p.Value).Take(top))
{
    Console.WriteLine(FormattableString.Invariant($"{bytes,15:N0} {100.0 * bytes / total,5:0.0}% {type}"));
}

return 0;
