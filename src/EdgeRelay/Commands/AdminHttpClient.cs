using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EdgeRelay.Server;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// The HTTP side of <c>edgerelay admin</c>: finds the relay's HTTP endpoint and the admin token, sends one
/// request, and turns every failure into the exit code scripts rely on (6 unreachable or refused, 7 token refused).
/// </summary>
internal sealed class AdminHttpClient : IDisposable
{
    public const int UsageError = ExitCodes.Usage;
    public const int Unreachable = ExitCodes.Unreachable;
    public const int AuthorisationRefused = ExitCodes.Unauthorised;
    public const string TokenVariable = "EDGERELAY_ADMIN_TOKEN";

    private readonly HttpClient _http;

    private AdminHttpClient(Uri baseUri, string token, TimeSpan timeout)
    {
        BaseUri = baseUri;
        _http = new HttpClient { BaseAddress = baseUri, Timeout = timeout };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseUri { get; }

    /// <summary>
    /// The endpoint is <paramref name="http"/> (host:port or an http URL), else the configuration's Http:Endpoint.
    /// The token is the first line of <paramref name="tokenFile"/>, else EDGERELAY_ADMIN_TOKEN, else the
    /// configuration's own Admin:TokenFile / Admin:Token (an operator on the relay's host needs to pass nothing).
    /// </summary>
    /// <exception cref="AdminCommandException">The endpoint is not one, or no token was found.</exception>
    public static AdminHttpClient Create(string? http, string? tokenFile, string? configPath, TimeSpan timeout)
    {
        EdgeRelayOptions? options = null;
        EdgeRelayOptions Options()
        {
            if (options is null)
            {
                try
                {
                    // Only the endpoint and the token are read: other problems of the file are the relay's to report.
                    options = ServerConfiguration.Load(configPath is null ? [.. RelayConfiguration.Overrides] : ["--config", configPath, .. RelayConfiguration.Overrides], out _, []);
                }
                catch (ConfigurationException ex)
                {
                    throw new AdminCommandException(UsageError, ex.Message);
                }
            }

            return options;
        }

        var baseUri = ParseEndpoint(http ?? Options().Http.Endpoint);
        string? token;
        try
        {
            token = tokenFile is not null ? File.ReadAllText(tokenFile).Trim()
                : Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment.Trim()
                : Options().Admin.ResolveToken();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AdminCommandException(UsageError, $"cannot read the admin token file: {ex.Message}");
        }

        if (string.IsNullOrEmpty(token))
        {
            throw new AdminCommandException(AuthorisationRefused, $"no admin token: pass --token-file PATH or set {TokenVariable}.");
        }

        return new AdminHttpClient(baseUri, token, timeout);
    }

    /// <summary>Sends one request and returns the body of a 2xx answer.</summary>
    /// <exception cref="AdminCommandException">Unreachable, refused, or an error answer (its message is the relay's).</exception>
    public async Task<string> SendAsync(HttpMethod method, string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await OpenAsync(method, pathAndQuery, HttpCompletionOption.ResponseContentRead, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>
    /// Sends one request and returns a 2xx answer as soon as its headers arrive, its body still to be read (a
    /// backup's stream); a failure throws as <see cref="SendAsync"/> does.
    /// </summary>
    public Task<HttpResponseMessage> OpenStreamAsync(string pathAndQuery, CancellationToken cancellationToken) =>
        OpenAsync(HttpMethod.Get, pathAndQuery, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    private async Task<HttpResponseMessage> OpenAsync(HttpMethod method, string pathAndQuery, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var uri = new Uri(BaseUri, pathAndQuery);
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, uri);
            response = await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new AdminCommandException(Unreachable, $"cannot reach the relay at {BaseUri}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AdminCommandException(Unreachable, $"the relay at {BaseUri} did not answer within {_http.Timeout.TotalSeconds:0} s.");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var error = TryReadError(await response.Content.ReadAsStringAsync(cancellationToken));
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new AdminCommandException(AuthorisationRefused, $"the relay at {BaseUri} refused the admin token."),
                HttpStatusCode.NotFound when error is null => new AdminCommandException(Unreachable, $"{uri} is not there: the relay's admin API is off (Admin:Token is not set) or this is not an EdgeRelay HTTP endpoint."),
                _ when error is not null => new AdminCommandException(1, $"{error.Message} ({error.Error})"),
                _ => new AdminCommandException(Unreachable, $"the relay at {BaseUri} answered {(int)response.StatusCode} {response.ReasonPhrase}."),
            };
        }
    }

    public void Dispose() => _http.Dispose();

    private static AdminError? TryReadError(string body)
    {
        try
        {
            return body.Length == 0 ? null : JsonSerializer.Deserialize(body, AdminJson.Default.AdminError);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Uri ParseEndpoint(string value)
    {
        if (value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(value.TrimEnd('/') + "/", UriKind.Absolute, out var uri)
                ? uri
                : throw new AdminCommandException(UsageError, $"--http: '{value}' is not a URL.");
        }

        if (!EdgeRelayOptions.TryParseEndpoint(value, out var endPoint))
        {
            throw new AdminCommandException(UsageError, $"'{value}' is not an endpoint; use host:port such as 127.0.0.1:7401, or an http URL.");
        }

        // A relay listening on every interface is asked on loopback: the command runs beside it.
        var address = endPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : endPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
            : endPoint.Address;
        return new UriBuilder("http", address.ToString(), endPoint.Port, "/").Uri;
    }
}

/// <summary>A failure of an admin command: the message for standard error and the exit code.</summary>
internal sealed class AdminCommandException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
