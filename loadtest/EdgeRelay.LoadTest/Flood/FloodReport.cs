using System.Globalization;
using EdgeRelay.LoadTest.Engine;

namespace EdgeRelay.LoadTest.Flood;

/// <summary>A flood run as a console table and as a JSON document (the contract for scripts).</summary>
internal static class FloodReport
{
    public static IEnumerable<string> Table(IReadOnlyList<KindResult> results)
    {
        yield return "| flood | bystander SENDs/s before → during | p50 ms before → during (×) | p99 ms before → during (×) | max ms before → during | relay CPU % before → during | flood attempts | accepted | refusals | other | bystander errors |";
        yield return "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|";
        foreach (var r in results)
        {
            var b = r.Before;
            var d = r.During;
            yield return F($"| {r.Kind} | {b.Bystander.PerSecond:0} → {d.Bystander.PerSecond:0} | {Ms(b.Latency.P50)} → {Ms(d.Latency.P50)} ({X(r.P50Ratio)}) | {Ms(b.Latency.P99)} → {Ms(d.Latency.P99)} ({X(r.P99Ratio)}) | {Ms(b.Latency.Max)} → {Ms(d.Latency.Max)} | {b.RelayCpuPercent:0} → {d.RelayCpuPercent:0} | {r.Flood.Attempts:N0} | {r.Flood.Accepted:N0} | {Describe(r.Flood.Refusals)} | {Describe(r.Flood.Other)} | {(r.BystanderErrors ? "YES" : "none")} |");
        }
    }

    public static object Document(FloodSettings settings, IReadOnlyList<KindResult> results) => new
    {
        relay = "edgerelay in its own process on loopback, default abuse limits (storage quotas lifted)",
        phase_s = settings.Phase.TotalSeconds,
        payload_bytes = settings.PayloadBytes,
        flood_connections = settings.FloodConnections,
        max_held = settings.MaxHeld,
        bystander_errors = results.Any(r => r.BystanderErrors),
        kinds = results.Select(r => new
        {
            kind = r.Kind,
            before = Phase(r.Before),
            during = Phase(r.During),
            p50_ratio = r.P50Ratio,
            p99_ratio = r.P99Ratio,
            throughput_ratio = r.ThroughputRatio,
            flood = new { attempts = r.Flood.Attempts, accepted = r.Flood.Accepted, refusals = r.Flood.Refusals, other = r.Flood.Other },
            bystander_errors = r.BystanderErrors,
        }),
    };

    public static string Describe(IReadOnlyDictionary<string, long> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.Select(kv => F($"{kv.Key} {kv.Value:N0}")));

    private static object Phase(PhaseResult p)
    {
        var l = p.Latency;
        return new
        {
            sends = p.Bystander.Sends,
            seconds = p.Bystander.Elapsed.TotalSeconds,
            sends_per_s = p.Bystander.PerSecond,
            latency_us = new { p50 = l.P50, p90 = l.P90, p99 = l.P99, p999 = l.P999, max = l.Max },
            relay_cpu_s = p.RelayCpu.TotalSeconds,
            relay_cpu_percent = p.RelayCpuPercent,
            errors = p.Bystander.Errors,
        };
    }

    private static string Ms(long micros) => F($"{micros / 1000.0:0.00}");

    private static string X(double? ratio) => ratio is { } x ? F($"{x:0.0}×") : "-";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
