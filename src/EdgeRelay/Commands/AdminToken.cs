namespace EdgeRelay.Executable;

/// <summary>
/// The admin token and endpoint of the client verbs that call the admin API: the token from <c>--token-file</c>,
/// else from <c>EDGERELAY_ADMIN_TOKEN</c>; never printed.
/// </summary>
internal static class AdminToken
{
    public const string EnvironmentVariable = "EDGERELAY_ADMIN_TOKEN";

    /// <summary>The token, or null with <paramref name="problem"/> saying why there is none.</summary>
    public static string? Read(string? tokenFile, out string problem)
    {
        problem = "";
        string? token;
        if (tokenFile is not null)
        {
            try
            {
                token = File.ReadAllText(tokenFile).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot read the token file '{tokenFile}': {ex.Message}";
                return null;
            }
        }
        else
        {
            token = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim();
        }

        if (string.IsNullOrEmpty(token))
        {
            problem = $"no admin token: give --token-file or set {EnvironmentVariable}.";
            return null;
        }

        return token;
    }

    /// <summary><c>http://host:port/</c> from <c>host:port</c> or a URL; a wildcard listener is reached on loopback.</summary>
    public static string BaseUrl(string endpoint)
    {
        var url = endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : "http://" + endpoint;
        url = url.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://[::]:", "://[::1]:", StringComparison.Ordinal);
        return url.EndsWith('/') ? url : url + "/";
    }
}
