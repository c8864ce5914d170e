using System.Diagnostics;
using System.Globalization;
using EdgeRelay.LoadTest.Targets;

namespace EdgeRelay.LoadTest.Soak;

/// <summary>
/// Reads one relay process from outside: its memory from <c>/proc/&lt;pid&gt;/status</c>, its CPU from the
/// kernel, its managed heap from its /metrics, and its data folder's disk usage. One instance per relay; it
/// keeps the previous CPU reading to turn the cumulative count into a share of the interval.
/// </summary>
internal sealed class ProcessProbe(PeerProcess relay, Uri metricsUrl) : IDisposable
{
    /// <summary>The relay's GC heap as prometheus-net's DotNetStats publishes it (GC.GetTotalMemory).</summary>
    public const string GcHeapSeries = "dotnet_total_memory_bytes";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private TimeSpan? _lastCpu;
    private long _lastTimestamp;

    public async Task<RelayReading> ReadAsync(CancellationToken cancellationToken)
    {
        long now = Stopwatch.GetTimestamp();
        var cpu = relay.ProcessorTime();
        double? cpuPercent = null;
        if (cpu is { } total && _lastCpu is { } previous)
        {
            var wall = Stopwatch.GetElapsedTime(_lastTimestamp, now);
            cpuPercent = wall > TimeSpan.Zero ? (total - previous) / wall * 100 : null;
        }

        _lastCpu = cpu;
        _lastTimestamp = now;
        var status = ReadStatus(relay.ProcessId);
        return new RelayReading
        {
            RssBytes = status?.RssBytes,
            PrivateBytes = status?.PrivateBytes,
            GcHeapBytes = await GcHeapAsync(cancellationToken),
            DiskBytes = await DiskUsage.BytesOnDiskAsync(relay.DataDir, cancellationToken),
            CpuPercent = cpuPercent,
        };
    }

    private async Task<long?> GcHeapAsync(CancellationToken cancellationToken)
    {
        try
        {
            var text = await _http.GetStringAsync(metricsUrl, cancellationToken);
            return PrometheusText.Value(text, GcHeapSeries) is { } bytes ? (long)bytes : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static ProcStatus? ReadStatus(int pid)
    {
        try
        {
            return ProcStatus.Parse(File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"));
        }
        catch (IOException)
        {
            return null; // gone, or not Linux
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The memory lines of <c>/proc/&lt;pid&gt;/status</c> a soak plots (proc(5): values in kB, meaning KiB).</summary>
internal readonly record struct ProcStatus(long? RssBytes, long? PrivateBytes)
{
    public static ProcStatus Parse(string text)
    {
        long? rss = null, anon = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kibibytes(line["VmRSS:".Length..]);
            }
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anon = Kibibytes(line["RssAnon:".Length..]);
            }
        }

        return new ProcStatus(rss, anon);
    }

    private static long? Kibibytes(ReadOnlySpan<char> rest)
    {
        rest = rest.Trim();
        if (!rest.EndsWith("kB", StringComparison.Ordinal))
        {
            return null;
        }

        return long.TryParse(rest[..^2].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : null;
    }
}

/// <summary>
/// Bytes on disk of a folder: allocated blocks, as <c>du</c> counts them. The apparent size would be wrong both
/// ways here: the log device zero-fills ahead of its writes (allocated, not yet "used"), and a sparse file
/// would count holes. .NET has no call for allocated blocks, so this asks <c>du</c> (coreutils).
/// </summary>
internal static class DiskUsage
{
    public static async Task<long?> BytesOnDiskAsync(string folder, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("du") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-s", "-B1", folder })
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using var du = Process.Start(info);
            if (du is null)
            {
                return null;
            }

            var output = await du.StandardOutput.ReadToEndAsync(cancellationToken);
            await du.WaitForExitAsync(cancellationToken);

            // du exits 1 when a file vanished while it walked (a truncated segment): the total is still the folder's.
            return ParseDu(output);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no du on this machine
        }
    }

    /// <summary>The first field of <c>du -s -B1</c>'s output ("12345\tfolder").</summary>
    public static long? ParseDu(string output)
    {
        var first = output.AsSpan().Trim();
        int end = first.IndexOfAny(' ', '\t');
        var number = end < 0 ? first : first[..end];
        return long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }
}
