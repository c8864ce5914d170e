using System.Globalization;
using EdgeRelay.Server;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Executable;

/// <summary>
/// <c>edgerelay tokens create|list|revoke</c>: the operator's access tokens for the sending service (RMs) and
/// for peer relays. Works on the token file of the relay the same configuration describes (--config, the
/// EDGERELAY_* variables and --Section:Key=value options apply as for the relay), while that relay runs: it
/// reloads the file when it changes.
/// </summary>
internal static class TokensCommand
{
    public const string Usage =
        """
        usage: edgerelay tokens create --name NAME [--role rm|peer] [--rate N] [--burst N]
                                       [--max-queued-messages N] [--max-queued-bytes N] [--max-attachment-bytes N]
               edgerelay tokens list
               edgerelay tokens revoke ID
        Each also takes the relay's configuration options (--config PATH, --Storage:DataDir=DIR, --Access:TokensFile=PATH).
        create prints the token alone on standard output, once: it is not stored, only its SHA-256 is.
        Limits left out (or 0) are the relay's Access defaults.
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("create" or "list" or "revoke"))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var verb = args[0];
        var own = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        var rest = new List<string>();
        string[] flags = ["--name", "--role", "--rate", "--burst", "--max-queued-messages", "--max-queued-bytes", "--max-attachment-bytes"];
        for (var i = 1; i < args.Length; i++)
        {
            if (flags.Contains(args[i]))
            {
                if (i + 1 >= args.Length)
                {
                    return UsageError($"{args[i]} needs a value.");
                }

                own[args[i]] = args[++i];
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) || (i > 1 && args[i - 1] == "--config"))
            {
                rest.Add(args[i]); // the relay's configuration: --config PATH, --Section:Key=value
            }
            else
            {
                positional.Add(args[i]);
            }
        }

        var problems = new List<string>();
        EdgeRelayOptions options;
        try
        {
            options = ServerConfiguration.Load([.. rest], out _, problems);
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        if (problems.Count > 0)
        {
            Console.Error.WriteLine("edgerelay tokens: the configuration has problems:");
            problems.ForEach(p => Console.Error.WriteLine("  - " + p));
            return 2;
        }

        var path = options.Access.ResolveTokensFile(Path.GetFullPath(options.Storage.DataDir));
        try
        {
            using var store = TokenStore.Open(path, options.Access.DefaultLimits, TimeProvider.System);
            return verb switch
            {
                "create" => Create(store, own, positional),
                "list" => positional.Count == 0 ? List(store) : UsageError("list takes no arguments."),
                _ => positional.Count == 1 ? Revoke(store, positional[0]) : UsageError("revoke takes one token id (see tokens list)."),
            };
        }
        catch (InvalidDataException ex)
        {
            Console.Error.WriteLine("edgerelay tokens: " + ex.Message);
            return 3;
        }
    }

    private static int Create(TokenStore store, Dictionary<string, string> own, List<string> positional)
    {
        if (positional.Count > 0)
        {
            return UsageError($"unexpected argument '{positional[0]}'.");
        }

        if (!own.TryGetValue("--name", out var name) || string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            return UsageError("--name NAME is required: 1 to 64 printable characters that say whose token it is.");
        }

        var role = own.GetValueOrDefault("--role", "rm") switch
        {
            "rm" => TokenRole.Rm,
            "peer" => TokenRole.Peer,
            _ => (TokenRole)0,
        };
        if (role == 0)
        {
            return UsageError($"--role must be rm or peer, not '{own["--role"]}'.");
        }

        long rate = 0, burst = 0, messages = 0, bytes = 0, attachments = 0;
        if (!Number(own, "--rate", int.MaxValue, ref rate) || !Number(own, "--burst", int.MaxValue, ref burst)
            || !Number(own, "--max-queued-messages", long.MaxValue, ref messages) || !Number(own, "--max-queued-bytes", long.MaxValue, ref bytes)
            || !Number(own, "--max-attachment-bytes", long.MaxValue, ref attachments))
        {
            return 2;
        }

        var issued = store.Create(name, role, new TokenLimits
        {
            RequestsPerSecond = (int)rate,
            Burst = (int)burst,
            MaxQueuedMessages = messages,
            MaxQueuedBytes = bytes,
            MaxAttachmentBytes = attachments,
        });
        Console.Error.WriteLine($"Created {(role == TokenRole.Peer ? "peer" : "RM")} token {issued.Token.Id} \"{name}\" in {store.Path}.");
        Console.Error.WriteLine("It is shown only this once; the relay keeps only its SHA-256:");
        Console.WriteLine(issued.Secret);
        return 0;
    }

    private static int List(TokenStore store)
    {
        var tokens = store.List();
        if (tokens.Count == 0)
        {
            Console.WriteLine($"No tokens in {store.Path}. Create one with: edgerelay tokens create --name NAME");
            return 0;
        }

        Console.WriteLine($"{"ID",-16}  {"ROLE",-4}  {"CREATED (UTC)",-19}  {"STATE",-28}  {"RATE/S",7}  {"QUEUED MSGS",11}  NAME");
        foreach (var t in tokens)
        {
            var state = t.IsRevoked ? "revoked " + Utc(t.RevokedAt) : "valid";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t.Id,-16}  {(t.Role == TokenRole.Peer ? "peer" : "rm"),-4}  {Utc(t.CreatedAt),-19}  {state,-28}  {t.Limits.RequestsPerSecond,7}  {t.Limits.MaxQueuedMessages,11}  {t.Name}"));
        }

        return 0;
    }

    private static int Revoke(TokenStore store, string id)
    {
        // The instance is updated in place by the revocation: read its state first.
        var revokedBefore = store.List().FirstOrDefault(t => t.Id == id)?.RevokedAt ?? 0;
        if (!store.Revoke(id))
        {
            Console.Error.WriteLine($"edgerelay tokens: no token with id '{id}' in {store.Path} (see: edgerelay tokens list).");
            return 1;
        }

        Console.WriteLine(revokedBefore != 0
            ? $"Token {id} was already revoked at {Utc(revokedBefore)}."
            : $"Revoked token {id}. A running relay refuses it from its next request on (TOKEN_REVOKED).");
        return 0;
    }

    private static bool Number(Dictionary<string, string> own, string flag, long max, ref long value)
    {
        if (!own.TryGetValue(flag, out var text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= max)
        {
            return true;
        }

        UsageError($"{flag} must be a whole number from 0 (the relay's default) up, not '{text}'.");
        return false;
    }

    private static string Utc(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static int UsageError(string message)
    {
        Console.Error.WriteLine("edgerelay tokens: " + message);
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
