namespace EdgeRelay.Server;

/// <summary>
/// The admin API on the HTTP endpoint (section "Admin"): off unless a token is configured, so a relay started
/// with defaults exposes nothing an operator did not decide to expose.
/// </summary>
public sealed class AdminOptions
{
    /// <summary>Shortest token accepted: anything shorter could be guessed over the network.</summary>
    public const int MinTokenLength = 16;

    /// <summary>The bearer token of the admin API. Default none: the API is off and every /admin path answers 404.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// A file holding the token (surrounding white space ignored), so it need not sit in the configuration or the
    /// environment. Wins over <see cref="Token"/> when both are set. Default none.
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>The token in effect, or null when the admin API is off. Reads <see cref="TokenFile"/> when set.</summary>
    /// <exception cref="IOException">The token file cannot be read.</exception>
    public string? ResolveToken()
    {
        var token = TokenFile is { Length: > 0 } ? File.ReadAllText(TokenFile).Trim() : Token;
        return string.IsNullOrEmpty(token) ? null : token;
    }

    internal void Validate(List<string> problems)
    {
        // Problems never quote the token: check-config output ends up in terminals and CI logs.
        if (TokenFile is not null)
        {
            if (string.IsNullOrWhiteSpace(TokenFile))
            {
                problems.Add("Admin:TokenFile: must name a file, or be left out.");
                return;
            }

            string token;
            try
            {
                token = File.ReadAllText(TokenFile).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add($"Admin:TokenFile: '{TokenFile}' cannot be read ({ex.GetType().Name}).");
                return;
            }

            CheckToken("Admin:TokenFile", token, problems);
        }
        else if (!string.IsNullOrEmpty(Token))
        {
            CheckToken("Admin:Token", Token, problems);
        }
    }

    private static void CheckToken(string name, string token, List<string> problems)
    {
        if (token.Length < MinTokenLength)
        {
            problems.Add($"{name}: the admin token must be at least {MinTokenLength} characters (e.g. `openssl rand -hex 32`).");
        }
        else if (token.Any(char.IsWhiteSpace) || token.Any(char.IsControl))
        {
            problems.Add($"{name}: the admin token must not contain white space or control characters (it travels in an HTTP header).");
        }
    }
}
