using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.LoadTest.Targets;
using HdrHistogram;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>What a soak found: the rate it ran at, its samples and the flatness verdicts.</summary>
internal sealed record SoakOutcome(
    double Rate, double? CalibratedMax, IReadOnlyList<SoakSample> Samples, IReadOnlyDictionary<string, long> Errors,
    IReadOnlyList<SeriesVerdict> Verdicts, IReadOnlyList<string> Charts)
{
    public bool Flat => Verdicts.All(v => v.Passed);
}

/// <summary>
/// A soak: a receiving relay (B) and a sending relay (A, forwarding to B) in their own processes on loopback,
/// each with a fresh data folder, under <see cref="SoakWorkload"/>'s mixed traffic at a fixed rate for the
/// whole duration, sampled every <see cref="SoakSettings.SampleInterval"/>; then the samples written (CSV,
/// JSON), charted and checked for flatness.
/// </summary>
internal static class SoakRun
{
    /// <summary>How long the last sends may take to be answered once the load stops.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<SoakOutcome> RunAsync(SoakSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.OutputDirectory);
        double? max = null;
        double rate;
        if (settings.Rate is { } given)
        {
            rate = given;
        }
        else
        {
            max = await CalibrateAsync(settings, log, cancellationToken);
            rate = Math.Max(1, Math.Round(max.Value * settings.LoadShare));
            log(F($"calibration: the mix sustained {max:0} msgs/s; soaking at {settings.LoadShare * 100:0}% of it, {rate:0} msgs/s"));
        }

        var samples = new List<SoakSample>();
        IReadOnlyDictionary<string, long> errors;
        var csvPath = Path.Combine(settings.OutputDirectory, "samples.csv");
        await using (var target = new EdgeRelayForwardTarget())
        {
            await target.StartAsync(RelayPair(settings), log, cancellationToken);
            await using var workload = await SoakWorkload.StartAsync(target, settings, cancellationToken);
            using var receiving = Probe(target.Receiving.Process);
            using var sending = Probe(target.Process);
            var host = new HostProbe();
            host.Read();
            await using var csv = new StreamWriter(csvPath);
            await csv.WriteLineAsync(SoakCsv.Header);
            await receiving.ReadAsync(cancellationToken);
            await sending.ReadAsync(cancellationToken);

            log(F($"soak: {rate:0} msgs/s for {DurationText.Format(settings.Duration)} ({settings.ViaShare * 100:0}% SEND_VIA through A), {settings.Addresses} addresses, a sample every {settings.SampleInterval.TotalSeconds:0} s into {csvPath}"));
            long start = Stopwatch.GetTimestamp();
            var load = workload.RunOpenAsync(rate, settings.Duration, cancellationToken);
            var previous = new Counts(0, 0, 0, start);
            using var timer = new PeriodicTimer(settings.SampleInterval);
            try
            {
                while (!load.IsCompleted && await timer.WaitForNextTickAsync(cancellationToken))
                {
                    if (load.IsCompleted)
                    {
                        break; // the load stopped inside this interval: a partial interval would read as a dip
                    }

                    var now = new Counts(workload.Sends, workload.Vias, workload.Delivered, Stopwatch.GetTimestamp());
                    var sample = await SampleAsync(workload, previous, now, start, receiving, sending, host, cancellationToken);
                    previous = now;
                    samples.Add(sample);
                    await csv.WriteLineAsync(SoakCsv.Row(sample));
                    await csv.FlushAsync(cancellationToken);
                    log(Progress(sample, settings.Duration));
                }

                await load;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: what was sampled so far is still written, charted and checked.
                log(F($"stopped early after {samples.Count} sample(s)"));
            }

            if (!await workload.DrainAsync(DrainTimeout, CancellationToken.None))
            {
                log(F($"some sends were still unanswered {DrainTimeout.TotalSeconds:0} s after the load stopped"));
            }

            errors = workload.Errors;
        }

        var series = SoakCsv.Read(await File.ReadAllTextAsync(csvPath, CancellationToken.None));
        var verdicts = FlatnessCheck.Check(series, settings.Bounds);
        var charts = SoakPlots.Write(series, settings.OutputDirectory);
        var outcome = new SoakOutcome(rate, max, samples, errors, verdicts, charts);
        await WriteJsonAsync(settings, outcome, Path.Combine(settings.OutputDirectory, "soak.json"), CancellationToken.None);
        return outcome;
    }

    /// <summary>
    /// The mix's maximum on this machine: a closed-loop run (every window slot sends again as soon as it is
    /// answered) on a pair of relays of its own, so the soak starts on fresh ones. Counted over the last two
    /// thirds; the maximum is the lower of the acknowledged and the delivered rates, as a rate the receivers
    /// cannot keep up with would only build a backlog.
    /// </summary>
    public static async Task<double> CalibrateAsync(SoakSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        log(F($"calibration: {DurationText.Format(settings.CalibrateDuration)} closed-loop on relays of its own"));
        await using var target = new EdgeRelayForwardTarget();
        await target.StartAsync(RelayPair(settings), log, cancellationToken);
        await using var workload = await SoakWorkload.StartAsync(target, settings, cancellationToken);
        var warm = settings.CalibrateDuration / 3;
        var load = workload.RunClosedAsync(settings.CalibrateDuration, cancellationToken);
        await Task.Delay(warm, cancellationToken);
        var first = new Counts(workload.Sends, workload.Vias, workload.Delivered, Stopwatch.GetTimestamp());
        await load;
        var last = new Counts(workload.Sends, workload.Vias, workload.Delivered, Stopwatch.GetTimestamp());
        double seconds = Stopwatch.GetElapsedTime(first.Timestamp, last.Timestamp).TotalSeconds;
        double acked = (last.Sends + last.Vias - first.Sends - first.Vias) / seconds;
        double delivered = (last.Delivered - first.Delivered) / seconds;
        log(F($"calibration: {acked:0} acknowledged/s, {delivered:0} delivered/s, errors: {Describe(workload.Errors)}"));
        if (workload.ErrorCount > 0)
        {
            throw new LoadTestException("the calibration run had errors (" + Describe(workload.Errors) + "): its maximum is not a rate to soak at; give --rate");
        }

        return Math.Min(acked, delivered);
    }

    /// <summary>The forwarding target's settings: B with the soak's addresses (primed, as for push), A sized for the RM connections.</summary>
    private static RunSettings RelayPair(SoakSettings settings) => new()
    {
        Target = TargetCatalog.EdgeRelayForward,
        Scenario = Scenarios.ScenarioCatalog.Push,
        Addresses = settings.Addresses,
        Connections = settings.ViaConnections,
        InFlight = settings.InFlight,
        PayloadBytes = settings.PayloadBytes,
        RelaySettings = settings.RelaySettings,
        Warmup = TimeSpan.Zero,
        Duration = settings.Duration + settings.CalibrateDuration,
    };

    private static ProcessProbe Probe(PeerProcess? relay) =>
        relay is null ? throw new LoadTestException("a soak runs both relays in their own processes") : new ProcessProbe(relay, RelayProcess.MetricsUrl(relay));

    private static async Task<SoakSample> SampleAsync(
        SoakWorkload workload, Counts previous, Counts now, long start, ProcessProbe receiving, ProcessProbe sending, HostProbe host, CancellationToken cancellationToken)
    {
        var (load, busy) = host.Read();
        double seconds = Stopwatch.GetElapsedTime(previous.Timestamp, now.Timestamp).TotalSeconds;
        var send = workload.SendLatency.GetIntervalHistogram();
        var via = workload.ViaLatency.GetIntervalHistogram();
        var push = workload.PushLatency.GetIntervalHistogram();
        var pull = workload.PullLatency.GetIntervalHistogram();
        return new SoakSample
        {
            ElapsedSeconds = Stopwatch.GetElapsedTime(start, now.Timestamp).TotalSeconds,
            SendsPerSecond = (now.Sends - previous.Sends) / seconds,
            ViaPerSecond = (now.Vias - previous.Vias) / seconds,
            DeliveredPerSecond = (now.Delivered - previous.Delivered) / seconds,
            Backlog = now.Sends + now.Vias - now.Delivered,
            SendP50 = Percentile(send, 50),
            SendP99 = Percentile(send, 99),
            ViaP50 = Percentile(via, 50),
            ViaP99 = Percentile(via, 99),
            PushP50 = Percentile(push, 50),
            PushP99 = Percentile(push, 99),
            PullP50 = Percentile(pull, 50),
            PullP99 = Percentile(pull, 99),
            Errors = workload.ErrorCount,
            Receiving = await receiving.ReadAsync(cancellationToken),
            Sending = await sending.ReadAsync(cancellationToken),
            HostLoad1 = load,
            HostCpuPercent = busy,
        };
    }

    private static long? Percentile(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? null : histogram.GetValueAtPercentile(percentile);

    private static string Progress(SoakSample s, TimeSpan duration) => F(
        $"[{s.ElapsedSeconds,6:0}s / {duration.TotalSeconds:0}s] {s.SendsPerSecond + s.ViaPerSecond,7:0} acked/s {s.DeliveredPerSecond,7:0} delivered/s  p99 send {Ms(s.SendP99)} via {Ms(s.ViaP99)} push {Ms(s.PushP99)} pull {Ms(s.PullP99)}  B rss {Mib(s.Receiving.RssBytes)} disk {Mib(s.Receiving.DiskBytes)} cpu {s.Receiving.CpuPercent:0}%  A rss {Mib(s.Sending.RssBytes)} disk {Mib(s.Sending.DiskBytes)} cpu {s.Sending.CpuPercent:0}%  machine load {s.HostLoad1:0.#}  errors {s.Errors}");

    private static string Ms(long? micros) => micros is { } us ? F($"{us / 1000.0:0.0}ms") : "-";

    private static string Mib(long? bytes) => bytes is { } b ? F($"{b / 1048576.0:0}M") : "-";

    internal static string Describe(IReadOnlyDictionary<string, long> errors) =>
        errors.Count == 0 ? "none" : string.Join(", ", errors.Select(kv => F($"{kv.Key} {kv.Value}")));

    private static async Task WriteJsonAsync(SoakSettings settings, SoakOutcome outcome, string path, CancellationToken cancellationToken)
    {
        var document = new
        {
            started_relays = "B receiving, A sending (forwarding to B); each its own process, fresh data folder, loopback",
            rate = outcome.Rate,
            rate_source = outcome.CalibratedMax is null ? "--rate" : F($"{settings.LoadShare:0.##} x the calibrated maximum"),
            calibrated_max = outcome.CalibratedMax,
            duration_s = settings.Duration.TotalSeconds,
            sample_s = settings.SampleInterval.TotalSeconds,
            addresses = settings.Addresses,
            via_share = settings.ViaShare,
            payload_bytes = settings.PayloadBytes,
            relay_settings = settings.RelaySettings,
            samples = outcome.Samples.Count,
            errors = outcome.Errors,
            flat = outcome.Flat,
            bounds = settings.Bounds,
            verdicts = outcome.Verdicts.Select(v => new { series = v.Series, criterion = v.Criterion, passed = v.Passed, detail = v.Detail }),
            charts = outcome.Charts.Select(Path.GetFileName),
        };
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(document, Indented), cancellationToken);
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private readonly record struct Counts(long Sends, long Vias, long Delivered, long Timestamp);
}
