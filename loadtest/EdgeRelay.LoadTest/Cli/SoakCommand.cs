using System.CommandLine;
using System.Globalization;
using EdgeRelay.LoadTest.Soak;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>soak</c>: a receiving and a sending relay under mixed traffic at a fixed rate for a long time, sampled,
/// charted and checked for flatness; <c>soak-check</c>: the flatness check alone, on a samples.csv.
/// </summary>
internal static class SoakCommand
{
    /// <summary>Exit code when a soak had errors (none are expected at half load).</summary>
    public const int ErrorsExitCode = LoadTestCommandLine.ErrorRateExitCode;

    /// <summary>Exit code when a series was not flat.</summary>
    public const int NotFlatExitCode = 4;

    public static Command Build()
    {
        var d = new SoakSettings();
        var duration = SharedOptions.DurationOption("--duration", "How long the load runs, e.g. 30m (10s..24h).", d.Duration);
        var rate = new Option<double?>("--rate") { Description = "Messages per second, SENDs and SEND_VIAs together, on a fixed schedule (open model). Give this or --calibrate.", HelpName = "MSGS" };
        var calibrate = new Option<bool>("--calibrate") { Description = "First measure the mix's maximum with a closed-loop run on relays of its own (--calibrate-duration), then soak at --load-share of it." };
        var calibrateDuration = SharedOptions.DurationOption("--calibrate-duration", "The calibration run (3s..5m); its first third is not counted.", d.CalibrateDuration);
        var loadShare = Double("--load-share", "With --calibrate: the share of the maximum to soak at.", d.LoadShare);
        var sample = SharedOptions.DurationOption("--sample", "Time between samples (at least 1s).", d.SampleInterval);
        var addresses = Int("--addresses", "Addresses on B; even ones are pushed to, odd ones pulled by their owner.", d.Addresses);
        var connections = Int("--connections", "Sender connections straight to B.", d.Connections);
        var viaConnections = Int("--via-connections", "RM connections to A (SEND_VIA, forwarded to B).", d.ViaConnections);
        var viaShare = Double("--via-share", "Share of messages sent with SEND_VIA through A.", d.ViaShare);
        var inFlight = Int("--in-flight", "Sends outstanding per connection at most.", d.InFlight);
        var pushConnections = Int("--push-connections", "Push receivers, the pushed addresses dealt over them.", d.PushConnections);
        var pullConnections = Int("--pull-connections", "Pulling owners, the pulled addresses dealt over them.", d.PullConnections);
        var pullInterval = SharedOptions.DurationOption("--pull-interval", "How often a pulling owner drains its addresses.", d.PullInterval);
        var payload = Int("--payload", "Ciphertext bytes per message (16..16384).", d.PayloadBytes);
        var output = new Option<string>("--out") { Description = $"Folder for samples.csv, soak.json and the charts. Default: {d.OutputDirectory}.", DefaultValueFactory = _ => d.OutputDirectory, HelpName = "DIR" };
        var relaySetting = new Option<string[]>("--relay-setting") { Description = "A relay option for both relays, Section:Key=Value; repeatable.", HelpName = "SECTION:KEY=VALUE" };
        var bounds = new BoundOptions();
        var command = new Command("soak", "Start a receiving relay (B) and a sending relay (A, forwarding to B), each in its own process with a fresh data folder, and run SENDs, SEND_VIAs, push subscribers and pulling owners at a fixed rate for --duration; sample both relays' memory, GC heap, disk and CPU with the interval's throughput, latency and errors every --sample; write samples.csv, soak.json and PNG charts to --out; then check that every series stayed flat. Exit codes: 0 flat and no errors; 1 invalid usage; 2 failed to start; 3 errors; 4 a series not flat.")
        {
            duration, rate, calibrate, calibrateDuration, loadShare, sample, addresses, connections, viaConnections, viaShare, inFlight,
            pushConnections, pullConnections, pullInterval, payload, output, relaySetting,
        };
        bounds.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new SoakSettings
            {
                Duration = result.GetValue(duration) ?? d.Duration,
                Rate = result.GetValue(rate),
                Calibrate = result.GetValue(calibrate),
                CalibrateDuration = result.GetValue(calibrateDuration) ?? d.CalibrateDuration,
                LoadShare = result.GetValue(loadShare),
                SampleInterval = result.GetValue(sample) ?? d.SampleInterval,
                Addresses = result.GetValue(addresses),
                Connections = result.GetValue(connections),
                ViaConnections = result.GetValue(viaConnections),
                ViaShare = result.GetValue(viaShare),
                InFlight = result.GetValue(inFlight),
                PushConnections = result.GetValue(pushConnections),
                PullConnections = result.GetValue(pullConnections),
                PullInterval = result.GetValue(pullInterval) ?? d.PullInterval,
                PayloadBytes = result.GetValue(payload),
                OutputDirectory = result.GetValue(output)!,
                RelaySettings = result.GetValue(relaySetting) ?? [],
                Bounds = bounds.Bind(result),
            };
            if (await LoadTestCommandLine.RefuseInvalidAsync(settings.Validate()))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            SoakOutcome outcome;
            try
            {
                outcome = await SoakRun.RunAsync(settings, Console.WriteLine, cancellationToken);
            }
            catch (LoadTestException ex)
            {
                await Console.Error.WriteLineAsync("error: " + ex.Message);
                return LoadTestCommandLine.FailedExitCode;
            }

            Console.WriteLine("charts: " + string.Join(", ", outcome.Charts));
            int exit = await ReportAsync(outcome.Verdicts);
            if (outcome.Errors.Count > 0)
            {
                await Console.Error.WriteLineAsync("error: the soak had errors, none expected at half load: " + SoakRun.Describe(outcome.Errors));
                return ErrorsExitCode;
            }

            return exit;
        });
        return command;
    }

    public static Command BuildCheck()
    {
        var samples = new Argument<string>("samples") { Description = "A samples.csv written by soak." };
        var plots = new Option<string?>("--plots") { Description = "Also (re)draw the charts from the samples into this folder. Default: none.", HelpName = "DIR" };
        var bounds = new BoundOptions();
        var command = new Command("soak-check", "Check a soak's samples.csv for flatness: drop the first --warmup-share of the run, then memory growth (least-squares slope x window, against the mean), disk peaks (last third against the first), p99 latency and CPU (last third against the first) and delivered throughput, and no errors. Prints every series' verdict; exits 4 when any failed, 0 when all passed.")
        {
            samples, plots,
        };
        bounds.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = bounds.Bind(result);
            if (await LoadTestCommandLine.RefuseInvalidAsync(settings.Validate().ToList()))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            SoakSeries series;
            try
            {
                series = SoakCsv.Read(await File.ReadAllTextAsync(result.GetValue(samples)!, cancellationToken));
            }
            catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync("error: " + ex.Message);
                return LoadTestCommandLine.FailedExitCode;
            }

            if (result.GetValue(plots) is { } folder)
            {
                Console.WriteLine("charts: " + string.Join(", ", SoakPlots.Write(series, folder)));
            }

            return await ReportAsync(FlatnessCheck.Check(series, settings));
        });
        return command;
    }

    /// <summary>Prints one line per verdict (failures also on stderr); the exit code they add up to.</summary>
    internal static async Task<int> ReportAsync(IReadOnlyList<SeriesVerdict> verdicts)
    {
        foreach (var v in verdicts)
        {
            Console.WriteLine($"{(v.Passed ? "PASS" : "FAIL")} {v.Series}: {v.Detail} [{v.Criterion}]");
        }

        var failed = verdicts.Where(v => !v.Passed).ToList();
        foreach (var v in failed)
        {
            await Console.Error.WriteLineAsync($"not flat: {v.Series}: {v.Detail} [{v.Criterion}]");
        }

        return failed.Count == 0 ? 0 : NotFlatExitCode;
    }

    private static Option<int> Int(string name, string description, int value) =>
        new(name) { Description = $"{description} Default: {value.ToString(CultureInfo.InvariantCulture)}.", DefaultValueFactory = _ => value, HelpName = "N" };

    private static Option<double> Double(string name, string description, double value) =>
        new(name) { Description = $"{description} Default: {value.ToString(CultureInfo.InvariantCulture)}.", DefaultValueFactory = _ => value, HelpName = "F" };

    /// <summary>The flatness bounds, shared by soak and soak-check.</summary>
    private sealed class BoundOptions
    {
        private static readonly FlatnessBounds D = new();
        private readonly Option<double> _warmupShare = Double("--warmup-share", "Share of the run dropped before judging flatness.", D.WarmupShare);
        private readonly Option<double> _memory = Double("--max-memory-growth", "Most RSS or private memory may grow over the steady window, as a share of its mean.", D.MaxMemoryGrowth);
        private readonly Option<double> _heap = Double("--max-heap-growth", "The same for the GC heap.", D.MaxHeapGrowth);
        private readonly Option<double> _disk = Double("--disk-allowance-mib", "Most B's disk peak of the last third may exceed the first third's, MiB (a log segment and the zero-fill ahead).", D.DiskAllowanceBytes / 1048576.0);
        private readonly Option<double> _sendingDisk = Double("--sending-disk-allowance-mib", "The same for A (its outbound log's 64 MiB segment and the zero-fill ahead).", D.SendingDiskAllowanceBytes / 1048576.0);
        private readonly Option<double> _latency = Double("--max-latency-ratio", "Most the median interval p99 of the last third may be, times the first third's.", D.MaxLatencyRatio);
        private readonly Option<double> _latencySlack = Double("--latency-slack-ms", "A p99 rise this small passes whatever the ratio.", D.LatencySlackMicroseconds / 1000);
        private readonly Option<double> _cpu = Double("--max-cpu-ratio", "Most the mean CPU of the last third may be, times the first third's.", D.MaxCpuRatio);
        private readonly Option<double> _cpuSlack = Double("--cpu-slack-pct", "A CPU rise this small, in percent of one core, passes whatever the ratio.", D.CpuSlackPercent);
        private readonly Option<double> _throughput = Double("--min-throughput-ratio", "Least the delivered rate of the last third may be, times the first third's.", D.MinThroughputRatio);

        public void AddTo(Command command)
        {
            foreach (var option in new[] { _warmupShare, _memory, _heap, _disk, _sendingDisk, _latency, _latencySlack, _cpu, _cpuSlack, _throughput })
            {
                command.Options.Add(option);
            }
        }

        public FlatnessBounds Bind(ParseResult result) => new()
        {
            WarmupShare = result.GetValue(_warmupShare),
            MaxMemoryGrowth = result.GetValue(_memory),
            MaxHeapGrowth = result.GetValue(_heap),
            DiskAllowanceBytes = (long)(result.GetValue(_disk) * 1048576),
            SendingDiskAllowanceBytes = (long)(result.GetValue(_sendingDisk) * 1048576),
            MaxLatencyRatio = result.GetValue(_latency),
            LatencySlackMicroseconds = result.GetValue(_latencySlack) * 1000,
            MaxCpuRatio = result.GetValue(_cpu),
            CpuSlackPercent = result.GetValue(_cpuSlack),
            MinThroughputRatio = result.GetValue(_throughput),
        };
    }
}
