using System.CommandLine;
using System.Net;
using EdgeRelay.Server;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// <c>edgerelay healthcheck</c>: asks this relay's own <c>/healthz</c> and exits 0 when it answers 200, 6 when it
/// cannot be reached or answers otherwise. The container image uses it as its HEALTHCHECK, so the image needs no
/// curl or wget.
/// </summary>
internal static class HealthCheckCommand
{
    internal static Command Create()
    {
        var config = RelayConfiguration.CreateConfigOption();
        var command = new Command("healthcheck", "Asks the relay this configuration describes for its /healthz on Http:Endpoint (loopback for a wildcard): exit 0 when it answers 200, 6 otherwise.")
        {
            config,
        };
        command.SetAction(async (result, _) =>
        {
            var problems = new List<string>();
            if (RelayConfiguration.TryLoad(result, config, problems, out var loaded) is { } unreadable)
            {
                return unreadable;
            }

            // Only the HTTP endpoint matters here; a problem elsewhere in the file must not fail a running relay's check.
            return await RunAsync(loaded.Options);
        });
        return command;
    }

    private static async Task<int> RunAsync(EdgeRelayOptions options)
    {
        if (!EdgeRelayOptions.TryParseEndpoint(options.Http.Endpoint, out var endPoint))
        {
            await Console.Error.WriteLineAsync($"Http:Endpoint: '{options.Http.Endpoint}' is not an endpoint.");
            return ExitCodes.Usage;
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
            return response.StatusCode == HttpStatusCode.OK ? ExitCodes.Ok : ExitCodes.Unreachable;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{url}: {ex.Message}");
            return ExitCodes.Unreachable;
        }
    }
}
