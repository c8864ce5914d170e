using System.Globalization;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>
/// Reads a relay's cumulative CPU time and managed allocations from its Prometheus <c>/metrics</c>. A scrape
/// renders every series the relay has, which is work the relay would not do otherwise, so a run scrapes twice
/// (see <see cref="IServerUsage"/>); one scrape's own cost then falls inside the measured window, spread over
/// every message of it.
/// </summary>
internal sealed class RelayMetricsScraper : IDisposable
{
    /// <summary>From DotNetStats: user plus system CPU of the relay's process.</summary>
    public const string CpuSeries = "process_cpu_seconds_total";

    /// <summary>The relay's own: GC.GetTotalAllocatedBytes of its process, read at each scrape.</summary>
    public const string AllocatedSeries = "edgerelay_process_allocated_bytes_total";

    /// <summary>A relay under load answers a scrape in milliseconds; a stuck one must not hold the run up.</summary>
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http = new() { Timeout = ScrapeTimeout };

    public RelayMetricsScraper(Uri url) => Url = url;

    public Uri Url { get; }

    /// <summary>Both readings of one scrape; a failed scrape or a missing series is null, with the reason in <see cref="ServerUsageSample.Problem"/>.</summary>
    public async Task<ServerUsageSample> ScrapeAsync(CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await _http.GetStringAsync(Url, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return ServerUsageSample.Unknown with { Problem = $"{Url}: {ex.Message}" };
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ServerUsageSample.Unknown with { Problem = $"{Url}: no answer within {ScrapeTimeout.TotalSeconds:0} s" };
        }

        double? cpuSeconds = PrometheusText.Value(text, CpuSeries);
        double? allocated = PrometheusText.Value(text, AllocatedSeries);
        var missing = new List<string>(2);
        if (cpuSeconds is null)
        {
            missing.Add(CpuSeries);
        }

        if (allocated is null)
        {
            missing.Add(AllocatedSeries);
        }

        return new ServerUsageSample(
            cpuSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            allocated is { } bytes ? (long)bytes : null,
            missing.Count == 0 ? null : $"{Url} has no {string.Join(" or ", missing)}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The little of the Prometheus text exposition format a scrape of the relay needs.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// The value of the unlabelled series <paramref name="name"/> (<c>name value [timestamp]</c>, or
    /// <c>name{} value</c>), or null when there is none or its value is not a finite number. Labelled series of
    /// that name are not summed: each counts something else.
    /// </summary>
    public static double? Value(string text, string name)
    {
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            var line = rawLine.Trim();
            if (line.IsEmpty || line[0] == '#' || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[name.Length..];
            if (rest.StartsWith("{}", StringComparison.Ordinal))
            {
                rest = rest[2..];
            }

            if (rest.IsEmpty || (rest[0] != ' ' && rest[0] != '\t'))
            {
                continue; // a longer name, or labels
            }

            rest = rest.TrimStart();
            int end = rest.IndexOfAny(' ', '\t');
            var number = end < 0 ? rest : rest[..end];
            return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;
        }

        return null;
    }
}
