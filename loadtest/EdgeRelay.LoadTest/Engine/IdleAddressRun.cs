using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using EdgeRelay.LoadTest.Targets;
using EdgeRelay.Server;
using EdgeRelay.Storage.Faster;

namespace EdgeRelay.LoadTest.Engine;

/// <summary>What <c>idle-addresses</c> does: how many addresses, in which folder, how many starts.</summary>
internal sealed record IdleRunSettings
{
    public int Count { get; init; } = 1_000_000;

    public required string DataDir { get; init; }

    public int Runs { get; init; } = 5;

    /// <summary>How long the relay runs after it is ready before its memory is read: start-up garbage settles.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(3);

    public IEnumerable<string> Validate()
    {
        if (Count is < 1 or > 100_000_000)
        {
            yield return $"--count: {Count} is out of range [1, 100000000].";
        }

        if (Runs is < 1 or > 50)
        {
            yield return $"--runs: {Runs} is out of range [1, 50].";
        }
    }
}

/// <summary>One start of the relay on the folder: how long until ready, and its memory then.</summary>
/// <param name="ReadyAfter">From the process start to the first 200 from <c>/readyz</c>.</param>
/// <param name="ReadyCpu">The relay's CPU time (user and system, all threads) by then: less sensitive than the wall time to a shared machine.</param>
/// <param name="ResidentBytes">VmRSS of the relay process after the settle time.</param>
/// <param name="PeakResidentBytes">VmHWM: the most it was resident at any time, start-up included.</param>
/// <param name="SettleCpu">The relay's CPU time during the settle time: what idle addresses cost it in maintenance passes.</param>
/// <param name="GcHeapBytes">The relay's own <c>dotnet_total_memory_bytes</c> (GC.GetTotalMemory) after the settle time.</param>
internal sealed record IdleStartResult(TimeSpan ReadyAfter, TimeSpan ReadyCpu, long ResidentBytes, long PeakResidentBytes, TimeSpan SettleCpu, double? GcHeapBytes);

/// <summary>
/// Ten million idle addresses: writes <see cref="IdleRunSettings.Count"/> addresses (random ids and owner keys,
/// a day of life) through the store's own API into a data folder, the way CREATE_ADDRESS would leave them but
/// without a network round trip per address, runs one maintenance pass (the address snapshot the relay loads at
/// start-up, and the log truncated below it) and closes the store, then starts the real relay on that folder in its own process, repeatedly, and reads
/// how long it takes to answer <c>/readyz</c> and how much memory it holds.
/// </summary>
internal static class IdleAddressRun
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    /// <summary>Fills the folder unless it already holds a store (then its addresses are measured as they are).</summary>
    public static async Task<(int Created, TimeSpan Elapsed)> CreateAsync(IdleRunSettings settings, Action<string> log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.DataDir);
        if (Directory.EnumerateFileSystemEntries(settings.DataDir).Any())
        {
            log($"{settings.DataDir} is not empty: measuring the addresses it holds");
            return (0, TimeSpan.Zero);
        }

        var clock = Stopwatch.StartNew();
        var options = StoreOptions(settings.DataDir);
        var expiresAt = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds();
        var storage = await FasterStorage.OpenAsync(options, TimeProvider.System, ct: cancellationToken);
        await using (storage)
        {
            const int Batch = 4096;
            var keys = new byte[Batch * 32];
            var ids = new byte[Batch * AddressId.Length];
            for (var done = 0; done < settings.Count;)
            {
                var n = Math.Min(Batch, settings.Count - done);
                RandomNumberGenerator.Fill(keys);
                RandomNumberGenerator.Fill(ids);
                for (var i = 0; i < n; i++)
                {
                    var aid = AddressId.Read(ids.AsSpan(i * AddressId.Length));
                    if (aid.IsEmpty)
                    {
                        continue; // reserved; 2^-128
                    }

                    await storage.CreateAddressAsync(aid, keys.AsMemory(i * 32, 32), expiresAt, cancellationToken);
                }

                done += n;
                if (done % (1 << 20) < Batch)
                {
                    log(string.Create(CultureInfo.InvariantCulture, $"created {done:N0} addresses in {clock.Elapsed.TotalSeconds:F1} s"));
                }
            }

            // What the relay's maintenance does within an interval of the last creation: a snapshot of the
            // registry, then the log truncated below it, so that start-up loads the snapshot rather than replaying
            // ten million address records.
            await storage.FlushAsync();
            await storage.RunMaintenanceAsync();
        }

        return (settings.Count, clock.Elapsed);
    }

    /// <summary>Starts the relay on the folder once, measures it and kills it (kill -9 leaves the folder as it was).</summary>
    public static async Task<IdleStartResult> StartOnceAsync(IdleRunSettings settings, CancellationToken cancellationToken)
    {
        var host = RelayProcess.FindDotnetHost() ?? throw new LoadTestException("The dotnet host was not found to run the relay.");
        var assembly = Path.Combine(AppContext.BaseDirectory, RelayProcess.AssemblyFileName);
        var ports = PeerProcess.FreeLoopbackPorts(2);
        var info = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["exec", assembly, $"--Relay:Endpoint=127.0.0.1:{ports[0]}", $"--Http:Endpoint=127.0.0.1:{ports[1]}", "--Storage:DataDir=" + Path.GetFullPath(settings.DataDir), "--Log:MinimumLevel=Warning"])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var http = new IPEndPoint(IPAddress.Loopback, ports[1]);
            var readyAfter = await WaitReadyAsync(process, http, clock, cancellationToken);
            process.Refresh();
            var readyCpu = process.TotalProcessorTime;
            await Task.Delay(settings.Settle, cancellationToken);
            var (rss, peak) = ResidentBytes(process.Id);
            process.Refresh();
            var settleCpu = process.TotalProcessorTime - readyCpu;
            var metrics = await Http.GetStringAsync(new Uri($"http://{http}/metrics"), cancellationToken);
            return new IdleStartResult(readyAfter, readyCpu, rss, peak, settleCpu, PrometheusText.Value(metrics, "dotnet_total_memory_bytes"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static async Task<TimeSpan> WaitReadyAsync(Process process, IPEndPoint http, Stopwatch clock, CancellationToken cancellationToken)
    {
        var deadline = TimeSpan.FromMinutes(5);
        while (clock.Elapsed < deadline)
        {
            if (process.HasExited)
            {
                throw new LoadTestException($"The relay exited with {process.ExitCode} before it was ready.");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri($"http://{http}/readyz"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        }

        throw new LoadTestException($"The relay was not ready within {deadline.TotalMinutes} minutes.");
    }

    /// <summary>VmRSS and VmHWM from /proc/PID/status (Linux), in bytes.</summary>
    private static (long Resident, long Peak) ResidentBytes(int processId)
    {
        long resident = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{processId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                resident = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }

        return (resident, peak);

        static long Kilobytes(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>The relay's own storage options for a folder (its defaults, as <c>serve</c> would open it), maintenance aside.</summary>
    private static FasterStorageOptions StoreOptions(string dataDir)
    {
        var relay = new EdgeRelayOptions();
        return new FasterStorageOptions
        {
            DataDirectory = dataDir,
            PageSizeBits = relay.Storage.PageSizeBits,
            MemorySizeBits = relay.Storage.MemorySizeBits,
            SegmentSizeBits = relay.Storage.SegmentSizeBits,
            ReadCacheSizeBits = relay.Storage.ReadCacheSizeBits,
            MaxPayloadBytes = relay.Relay.MaxCiphertextBytes,
            MaxLogBytes = relay.Storage.MaxDiskBytes,

            // Off while filling: each pass would rewrite a snapshot of every address created so far.
            MaintenanceInterval = TimeSpan.FromHours(1),
        };
    }
}
