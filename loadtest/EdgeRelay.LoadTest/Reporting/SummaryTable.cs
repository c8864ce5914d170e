using System.Globalization;
using Spectre.Console;

namespace EdgeRelay.LoadTest.Reporting;

/// <summary>The end-of-run summary on the terminal.</summary>
internal static class SummaryTable
{
    public static Table Build(RunResult r)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded).Title("EdgeRelay load test").HideHeaders();
        table.AddColumn("");
        table.AddColumn(new TableColumn("").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));

        Row("target", r.Endpoint is null ? r.Label + " (started for the run)" : $"{r.Label} at {r.Endpoint}");
        Row("an ack means", r.Durability);
        Row("scenario / model", $"{r.Scenario} / {ResultWriters.ModelText(r)}");
        Row("connections x in-flight", string.Create(c, $"{r.Connections} x {r.InFlight}"));
        Row("payload", string.Create(c, $"{r.PayloadBytes} B to {r.Addresses:N0} address(es)"));
        Row("fresh SENDs", string.Create(c, $"{ResultWriters.FreshText(r)} (seed {r.Seed})"));
        if (r.FreshAddresses is { } fresh)
        {
            Row("fresh addresses", fresh.Source);
        }

        Row("measured", string.Create(c, $"{r.DurationSeconds:0.###} s (after {r.WarmupSeconds:0.###} s warm-up)"));
        Row("messages", r.Operations == r.Messages ? r.Messages.ToString("N0", c) : string.Create(c, $"{r.Messages:N0} in {r.Operations:N0} batches"));
        Row("msgs/s", ResultWriters.ThroughputText(r));
        Row("MB/s (payload)", r.ErrorDominated ? "-" : r.MegabytesPerSecond.ToString("N1", c));
        Row("latency p50", ResultWriters.MicrosText(ResultWriters.ShownLatency(r)?.P50));
        Row("latency p90", ResultWriters.MicrosText(ResultWriters.ShownLatency(r)?.P90));
        Row("latency p99", ResultWriters.MicrosText(ResultWriters.ShownLatency(r)?.P99));
        Row("latency p99.9", ResultWriters.MicrosText(ResultWriters.ShownLatency(r)?.P999));
        Row("latency max", ResultWriters.MicrosText(ResultWriters.ShownLatency(r)?.Max));
        if (r.SendLag is { } lag)
        {
            Row("send lag p50 / p99 / max", $"{ResultWriters.Micros(lag.P50)} / {ResultWriters.Micros(lag.P99)} / {ResultWriters.MicrosText(lag.Max)}");
        }

        Row("server CPU per msg", ResultWriters.ServerCpuText(r, " µs"));
        Row("client CPU per msg", ResultWriters.ClientCpuText(r, " µs"));
        if (r.Target == Targets.TargetCatalog.EdgeRelayForward)
        {
            Row("sending relay (A) CPU per msg", r.ForwarderCpuMicrosecondsPerMessage is { } a ? a.ToString("N1", c) + " µs" : "-");
            Row("acked by A (SEND_QUEUED)", r.ForwarderAckedPerSecond is { } acked ? acked.ToString("N0", c) + " msgs/s" : "-");
        }

        Row("server allocated per msg", ResultWriters.ServerAllocText(r, " B"));
        Row("errors", ResultWriters.ErrorsText(r));
        Row("RATE_LIMITED refusals", string.Create(c, $"{r.RateLimited:N0}"));
        if (r.WarmupErrors > 0)
        {
            Row("errors in warm-up (excluded)", r.WarmupErrors.ToString("N0", c));
        }

        return table;
    }
}
