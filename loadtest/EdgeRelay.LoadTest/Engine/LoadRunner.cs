using EdgeRelay.LoadTest.Reporting;
using EdgeRelay.LoadTest.Scenarios;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>
/// One run, start to finish: start the target, open the connections, warm up, measure, drain, and turn the
/// meters into a <see cref="RunResult"/>. Setup (relay start, addresses, connections) happens before the
/// clock starts and is never measured.
/// </summary>
internal static class LoadRunner
{
    /// <summary>Meters are shared beyond this many connections (see <see cref="LoadMeter"/>).</summary>
    public const int MaxMeters = 16;

    /// <summary>How long outstanding requests may take to complete after sending stopped; then they are cancelled and counted as DRAIN_TIMEOUT.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Progress cadence: the live display refreshes about four times a second.</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long removing a run's leftovers from a relay at --endpoint may take (a gigabyte drains in seconds).</summary>
    public static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(5);

    /// <param name="stop">Ctrl+C: during setup it cancels; during the run it ends the window early and the results are still produced.</param>
    public static async Task<RunResult> RunAsync(RunSettings settings, IProgressDisplay display, Action<string> log, CancellationToken stop)
    {
        var problems = settings.Validate();
        if (problems.Count > 0)
        {
            throw new LoadTestException(string.Join(Environment.NewLine, problems));
        }

        await using var target = TargetCatalog.Create(settings.Target);
        RunResult result;
        try
        {
            result = await MeasureAsync(settings, target, display, log, stop);
        }
        catch
        {
            await CleanUpAsync(settings, target, log);
            throw;
        }

        await CleanUpAsync(settings, target, log);
        return result;
    }

    /// <summary>
    /// Removes what the run left on a system it did not start, once its receivers are gone. Not cancelled by
    /// Ctrl+C, which ends the measurement but should still leave the relay clean, and bounded by its own timeout; a
    /// failure is reported, not thrown, as the measurement it follows stands.
    /// </summary>
    private static async Task CleanUpAsync(RunSettings settings, ILoadTarget target, Action<string> log)
    {
        if (target is not ICleansUpAfterRun cleanup)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            if (await cleanup.CleanUpAsync(settings, log, timeout.Token) is { } done)
            {
                log($"{target.Label}: {done}");
            }
        }
#pragma warning disable CA1031 // Reported: the relay keeps what was not removed, and the operator is told so.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            log($"{target.Label}: cleanup failed, the run's addresses may still be on the relay until they expire: {ex.Message}");
        }
    }

    private static async Task<RunResult> MeasureAsync(RunSettings settings, ILoadTarget target, IProgressDisplay display, Action<string> log, CancellationToken stop)
    {
        var time = TimeProvider.System;

        // Disposed in reverse: connections, then the scenario (its receivers); the target (its server) by the caller.
        await using var scenario = ScenarioCatalog.Create(settings.Scenario, settings);
        await target.StartAsync(settings, log, stop);
        await scenario.PrepareAsync(target, log, stop);
        int inFlight = scenario.InFlightPerConnection;

        var connections = await ConnectAllAsync(scenario, target, settings.Connections, stop);
        try
        {
            var startedAt = time.GetUtcNow();
            var meters = new LoadMeter[Math.Min(settings.Connections, MaxMeters)];
            for (int i = 0; i < meters.Length; i++)
            {
                meters[i] = new LoadMeter(time.TimestampFrequency);
            }

            log($"{target.Label}: {scenario.Name}, {settings.Model.ToString().ToLowerInvariant()} model, {settings.Connections} connection(s) x {inFlight} in flight"
                + (settings.Rate is { } r ? FormattableString.Invariant($", {r:0.##} msgs/s intended") : "")
                + $", {settings.PayloadBytes} B payloads, warm-up {DurationText.Format(settings.Warmup)}, measuring {DurationText.Format(settings.Duration)}");

            var window = MeasurementWindow.Create(time, settings.Warmup, settings.Duration);
            using var stopIssuing = CancellationTokenSource.CreateLinkedTokenSource(stop);
            using var abort = new CancellationTokenSource();
            using var onStop = stop.Register(() => window.EndAt(time.GetTimestamp()));
            using var ticker = settings.Model == LoadModel.Open ? new SleepTicker() : null;

            var workers = new Task[connections.Length];
            for (int i = 0; i < connections.Length; i++)
            {
                var connection = connections[i];
                LoadOperation operation = connection.ExecuteAsync;
                var meter = meters[i % meters.Length];
                workers[i] = settings.Rate is { } rate
                    ? new OpenLoopWorker(new OpenSchedule(window.Start, time.TimestampFrequency, rate, i, connections.Length), inFlight, window, meter, time, ticker!, operation, target.Classify)
                        .RunAsync(stopIssuing.Token, abort.Token)
                    : new ClosedLoopWorker(inFlight, window, meter, time, operation, target.Classify)
                        .RunAsync(stopIssuing.Token, abort.Token);
            }

            // Past this (after the window's end) outstanding requests are cancelled; the open model may still be issuing during its grace.
            long drainTicks = MeasurementWindow.ToTicks(DrainTimeout + (settings.Model == LoadModel.Open ? OpenLoopWorker.IssueGrace : TimeSpan.Zero), time.TimestampFrequency);
            var sampler = new ProgressSampler(meters, window, time);
            var usage = target as IServerUsage;
            ServerUsageSample? usageFrom = null;
            ServerUsageSample? usageTo = null;
            TimeSpan? clientFrom = null;
            TimeSpan? clientTo = null;
            await display.ShowAsync(async update =>
            {
                var all = Task.WhenAll(workers);
                while (!all.IsCompleted)
                {
                    if (clientFrom is null && time.GetTimestamp() >= window.MeasureFrom)
                    {
                        clientFrom = ClientProcessorTime();

                        // Not cancelled by Ctrl+C, which must still end in a report; a scrape has a timeout of its own.
                        usageFrom = usage is null ? null : await SampleAsync(usage, time);
                    }

                    // The first sample waits for the window to open, not for the next display tick.
                    var wait = SampleInterval;
                    if (clientFrom is null)
                    {
                        wait = TimeSpan.FromTicks(Math.Clamp(time.GetElapsedTime(time.GetTimestamp(), window.MeasureFrom).Ticks, 0, wait.Ticks));
                    }

                    await Task.WhenAny(all, Task.Delay(wait, time, CancellationToken.None));
                    update(sampler.Sample(workersDone: false));
                    if (!abort.IsCancellationRequested && time.GetTimestamp() > window.End + drainTicks)
                    {
                        await abort.CancelAsync();
                    }
                }

                await all;
                if (clientFrom is not null)
                {
                    clientTo = ClientProcessorTime();
                    usageTo = usage is null ? null : await SampleAsync(usage, time);
                }

                update(sampler.Sample(workersDone: true));
            });

            foreach (var problem in new[] { usageFrom?.Problem, usageTo?.Problem }.OfType<string>().Distinct(StringComparer.Ordinal))
            {
                log($"{target.Label}: server usage per message unknown: {problem}");
            }

            if (window.RanDry)
            {
                log(FormattableString.Invariant($"{scenario.Name}: a queue ran dry after {window.MeasuredDuration(time.TimestampFrequency).TotalSeconds:0.###} s of measurement; the window ends there (raise --prefill for a longer one)"));
            }

            var usageSpan = new UsageSpan(usageFrom, usageTo, clientFrom, clientTo);
            return BuildResult(settings, target, scenario, inFlight, window, meters, sampler, usageSpan, startedAt, time.TimestampFrequency);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static async Task<ServerUsageSample> SampleAsync(IServerUsage usage, TimeProvider time)
    {
        long at = time.GetTimestamp();
        return await usage.SampleServerUsageAsync(CancellationToken.None) with { Timestamp = at };
    }

    private static async Task<IScenarioConnection[]> ConnectAllAsync(IScenario scenario, ILoadTarget target, int count, CancellationToken cancellationToken)
    {
        var connections = new IScenarioConnection?[count];
        try
        {
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, token) =>
                connections[i] = await scenario.ConnectAsync(target, i, token));
            return connections!;
        }
        catch
        {
            foreach (var connection in connections)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }
            }

            throw;
        }
    }

    private static RunResult BuildResult(
        RunSettings settings, ILoadTarget target, IScenario scenario, int inFlight, MeasurementWindow window, LoadMeter[] meters,
        ProgressSampler sampler, UsageSpan usage, DateTimeOffset startedAt, long frequency)
    {
        long messages = 0;
        long operations = 0;
        long warmupErrors = 0;
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var meter in meters)
        {
            messages += meter.Measured;
            operations += meter.MeasuredOperations;
            warmupErrors += meter.WarmupErrors;
            foreach (var (code, count) in meter.Errors)
            {
                errors[code] = errors.GetValueOrDefault(code) + count;
            }
        }

        double seconds = window.MeasuredDuration(frequency).TotalSeconds;
        double perSecond = seconds > 0 ? messages / seconds : 0;
        var latency = LatencyHistograms.Summarize(sampler.Total);
        var lag = LatencyHistograms.Summarize(sampler.LagTotal);
        var (cpuPerMessage, allocatedPerMessage) = ServerUsagePerMessage(usage.ServerFrom, usage.ServerTo, messages);
        long errorCount = errors.Values.Sum();
        return new RunResult
        {
            Target = target.Name,
            Label = target.Label,
            Durability = target.Durability,
            Scenario = scenario.Name,
            Model = settings.Model == LoadModel.Open ? "open" : "closed",
            Endpoint = settings.Endpoint,
            Connections = settings.Connections,
            InFlight = inFlight,
            Rate = settings.Rate,
            Addresses = settings.Addresses,
            FreshRatio = settings.FreshRatio,
            PushWindowMs = settings.PushWindow?.TotalMilliseconds,
            Seed = settings.Seed,
            FreshAddresses = (target as IFreshAddressSource)?.FreshAddresses is { } fresh ? FreshAddressesResult.From(fresh) : null,
            PayloadBytes = scenario.PayloadBytesPerMessage,
            WarmupSeconds = settings.Warmup.TotalSeconds,
            DurationSeconds = Math.Round(seconds, 3),
            Messages = messages,
            Operations = operations,
            MessagesPerSecond = Math.Round(perSecond, 1),
            MegabytesPerSecond = Math.Round(perSecond * scenario.PayloadBytesPerMessage / 1e6, 2),
            // No success measured, no latency: zeros would read as an impossibly fast run.
            Latency = sampler.Total.TotalCount == 0 ? null : new LatencyMicroseconds { P50 = latency.P50, P90 = latency.P90, P99 = latency.P99, P999 = latency.P999, Max = latency.Max },
            SendLag = settings.Model != LoadModel.Open ? null
                : sampler.LagTotal.TotalCount == 0 ? new SendLagMicroseconds { P50 = null, P99 = null, Max = null }
                : new SendLagMicroseconds { P50 = lag.P50, P99 = lag.P99, Max = lag.Max },
            Errors = errors,
            RateLimited = errors.GetValueOrDefault(ErrorCodes.Name(ErrorCode.RateLimited)),
            ErrorShare = ErrorShare(operations, errorCount),
            ErrorDominated = IsErrorDominated(operations, errorCount),
            MaxErrorRate = settings.MaxErrorRate,
            ErrorRateExceeded = ExceedsErrorBudget(operations, errorCount, settings.MaxErrorRate),
            WarmupErrors = warmupErrors,
            ServerAllocBytesPerMessage = allocatedPerMessage,
            ServerCpuMicrosecondsPerMessage = cpuPerMessage,
            ClientCpuMicrosecondsPerMessage = PerMessage(usage.ClientFrom, usage.ClientTo, messages),
            ForwarderCpuMicrosecondsPerMessage = PerMessage(usage.ServerFrom?.ForwarderCpuTime, usage.ServerTo?.ForwarderCpuTime, messages),
            ForwarderAckedPerSecond = ForwarderAckedPerSecond(usage.ServerFrom, usage.ServerTo, frequency),
            StartedAt = startedAt,
        };
    }

    /// <summary>
    /// Failed operations over all operations of the measured window (successes plus failures), 0 when there
    /// were none at all.
    /// </summary>
    internal static double ErrorShare(long successfulOperations, long errors) =>
        successfulOperations + errors == 0 ? 0 : Math.Round((double)errors / (successfulOperations + errors), 4);

    /// <summary>
    /// A measured window that is not a measurement of the system working: at least as many failed operations
    /// as successful ones, or no successful operation at all. Its throughput and latency describe refusals
    /// (a relay answering RATE_LIMITED is fast), so the command says so and exits non-zero.
    /// </summary>
    internal static bool IsErrorDominated(long successfulOperations, long errors) =>
        successfulOperations == 0 || errors >= successfulOperations;

    /// <summary>
    /// Whether the measured window fails the run: more failed operations than <paramref name="maxErrorRate"/>
    /// of all its operations, or a window <see cref="IsErrorDominated">dominated by errors</see> (which covers
    /// one with no successful operation) whatever the threshold, because its figures are no measurement to
    /// pass. Compared on the counts, not on the rounded <see cref="ErrorShare"/>, so 1 error in 1,000,001 is
    /// above a threshold of 0.
    /// </summary>
    internal static bool ExceedsErrorBudget(long successfulOperations, long errors, double maxErrorRate) =>
        IsErrorDominated(successfulOperations, errors) || errors > maxErrorRate * (successfulOperations + errors);

    /// <summary>The generator's own CPU time so far (every thread, user and system), or null where the system does not say.</summary>
    private static TimeSpan? ClientProcessorTime()
    {
        try
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            return self.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    /// <summary>
    /// SEND_QUEUED replies of the sending relay per second between the two samples (window opening, last
    /// reply): in a push run the rate A acknowledged at while the owner received.
    /// </summary>
    internal static double? ForwarderAckedPerSecond(ServerUsageSample? from, ServerUsageSample? to, long frequency) =>
        from?.ForwarderAcked is { } a0 && to?.ForwarderAcked is { } a1 && to.Timestamp > from.Timestamp
            ? Math.Round((a1 - a0) / ((double)(to.Timestamp - from.Timestamp) / frequency), 1)
            : null;

    private static double? PerMessage(TimeSpan? from, TimeSpan? to, long messages) =>
        from is { } c0 && to is { } c1 && c1 >= c0 && messages > 0 ? Math.Round((c1 - c0).TotalMicroseconds / messages, 2) : null;

    /// <summary>
    /// What the server spent between two samples, per message: CPU in microseconds, managed allocations in
    /// bytes. Each null when either sample lacks it, when there were no messages, or when a counter went
    /// backwards (the server restarted in between).
    /// </summary>
    internal static (double? CpuMicroseconds, double? AllocatedBytes) ServerUsagePerMessage(ServerUsageSample? from, ServerUsageSample? to, long messages)
    {
        if (from is null || to is null || messages <= 0)
        {
            return (null, null);
        }

        double? cpu = PerMessage(from.CpuTime, to.CpuTime, messages);
        double? allocated = from.AllocatedBytes is { } a0 && to.AllocatedBytes is { } a1 && a1 >= a0
            ? Math.Round((double)(a1 - a0) / messages, 1)
            : null;
        return (cpu, allocated);
    }
}

/// <summary>
/// The two samples of a run's CPU (and the server's allocations), taken when the measured window opened and
/// after the last reply: the server's (where known) and the generator's own process.
/// </summary>
internal sealed record UsageSpan(ServerUsageSample? ServerFrom, ServerUsageSample? ServerTo, TimeSpan? ClientFrom, TimeSpan? ClientTo);
