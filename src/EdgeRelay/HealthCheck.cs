using System.Net;
using EdgeRelay.Server;

namespace EdgeRelay.Executable;

/// <summary>
/// <c>edgerelay healthcheck</c>: asks this relay's own <c>/healthz</c> and exits 0 when it answers 200.
/// The container image uses it as its HEALTHCHECK, so the image needs no curl or wget.
/// </summary>
internal static class HealthCheck
{
    public static async Task<int> RunAsync(EdgeRelayOptions options)
    {
        if (!EdgeRelayOptions.TryParseEndpoint(options.Http.Endpoint, out var endPoint))
        {
            await Console.Error.WriteLineAsync($"Http:Endpoint: '{options.Http.Endpoint}' is not an endpoint.");
            return 2;
        }

        // A relay listening on every interface is asked on loopback: the check runs beside it.
        var address = endPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endPoint.Address;
        var url = new UriBuilder("http", address.ToString(), endPoint.Port, "/healthz").Uri;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(url);
            Console.WriteLine($"{url}: {(int)response.StatusCode}");
            return response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{url}: {ex.Message}");
            return 1;
        }
    }
}
