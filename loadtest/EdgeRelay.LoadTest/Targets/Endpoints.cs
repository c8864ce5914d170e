using System.Globalization;
using System.Net;

namespace EdgeRelay.LoadTest.Targets;

/// <summary>Parsing and the loopback-only policy for <c>--endpoint</c> and <c>--metrics</c>.</summary>
internal static class Endpoints
{
    /// <summary>Splits "host:port" or "[v6]:port".</summary>
    public static bool TrySplit(string endpoint, out string host, out int port)
    {
        host = "";
        port = 0;
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port)
            || port is < 1 or > IPEndPoint.MaxPort)
        {
            return false;
        }

        host = endpoint[..colon].Trim('[', ']');
        return host.Length > 0;
    }

    /// <summary>
    /// Resolves the endpoint and refuses anything but loopback unless <paramref name="allowRemote"/>: a load
    /// generator aimed at the wrong machine by a typo is an outage, so leaving the host takes a second flag.
    /// </summary>
    public static async Task<IPEndPoint> ResolveAsync(string endpoint, bool allowRemote, CancellationToken cancellationToken)
    {
        if (!TrySplit(endpoint, out var host, out var port))
        {
            throw new LoadTestException($"--endpoint '{endpoint}' is not host:port.");
        }

        return new IPEndPoint(await ResolveHostAsync("--endpoint", endpoint, host, allowRemote, cancellationToken), port);
    }

    /// <summary>An absolute http(s) URL, or null (what <c>--metrics</c> accepts).</summary>
    public static Uri? ParseHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;

    /// <summary>
    /// The <c>--metrics</c> URL, under the same rule as <see cref="ResolveAsync"/>: scraping another machine
    /// is reaching out to it, which takes <c>--allow-remote</c> too.
    /// </summary>
    public static async Task<Uri> CheckMetricsUrlAsync(string url, bool allowRemote, CancellationToken cancellationToken)
    {
        var uri = ParseHttpUrl(url) ?? throw new LoadTestException($"--metrics '{url}' is not an http(s) URL.");
        await ResolveHostAsync("--metrics", url, uri.IdnHost, allowRemote, cancellationToken);
        return uri;
    }

    private static async Task<IPAddress> ResolveHostAsync(string option, string given, string host, bool allowRemote, CancellationToken cancellationToken)
    {
        host = host.Trim('[', ']');
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new LoadTestException($"{option} '{given}': '{host}' has no address.");
        }

        var address = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses[0];
        if (!allowRemote && !IPAddress.IsLoopback(address))
        {
            throw new LoadTestException($"{option} '{given}' resolves to {address}, which is not loopback; pass --allow-remote to reach another machine.");
        }

        return address;
    }
}
