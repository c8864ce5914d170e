using System.CommandLine;
using System.Globalization;
using EdgeRelay.Server;
using EdgeRelay.Server.Access;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// <c>edgerelay tokens create|list|revoke</c>: the operator's access tokens for the sending service (RMs) and
/// for peer relays. Works on the token file of the relay the same configuration describes (--config, the
/// EDGERELAY_* variables and --Section:Key=value options apply as for the relay), while that relay runs: it
/// reloads the file when it changes.
/// </summary>
internal static class TokensCommand
{
    private static readonly string[] LimitFlags = ["--rate", "--burst", "--max-queued-messages", "--max-queued-bytes", "--max-attachment-bytes"];

    internal static Command Create()
    {
        var tokens = new Command("tokens", "Access tokens of the sending service (RMs) and of peer relays, in the token file of the relay this configuration describes (Access:TokensFile, by default in Storage:DataDir). A running relay reloads the file when it changes.");
        tokens.Subcommands.Add(CreateVerb());
        tokens.Subcommands.Add(ListVerb());
        tokens.Subcommands.Add(RevokeVerb());
        return tokens;
    }

    private static Command CreateVerb()
    {
        var config = RelayConfiguration.CreateConfigOption();
        var name = new Option<string>("--name") { Description = "Whose token it is: 1 to 64 printable characters.", HelpName = "NAME" };
        var role = new Option<string>("--role") { Description = "rm (a relationship manager using the sending service) or peer (another relay forwarding here).", HelpName = "rm|peer", DefaultValueFactory = _ => "rm" };
        var limits = LimitFlags.Select(flag => new Option<string>(flag)
        {
            Description = flag == "--rate" ? "Requests per second (0 or left out: the relay's Access default)." : "A limit of this token (0 or left out: the relay's Access default).",
            HelpName = "N",
        }).ToArray();
        var command = new Command("create", "Creates a token and prints it alone on standard output, once: it is not stored, only its SHA-256 is.") { config, name, role };
        foreach (var limit in limits)
        {
            command.Options.Add(limit);
        }

        command.SetAction(result => WithStore(result, config, store =>
        {
            var own = limits.Where(o => result.GetValue(o) is not null).ToDictionary(o => o.Name, o => result.GetValue(o)!, StringComparer.Ordinal);
            own["--role"] = result.GetValue(role)!;
            if (result.GetValue(name) is { } given)
            {
                own["--name"] = given;
            }

            return Create(store, own);
        }));
        return command;
    }

    private static Command ListVerb()
    {
        var config = RelayConfiguration.CreateConfigOption();
        var command = new Command("list", "Lists the tokens: id, role, creation, state, limits and name; never a secret.") { config };
        command.SetAction(result => WithStore(result, config, List));
        return command;
    }

    private static Command RevokeVerb()
    {
        var config = RelayConfiguration.CreateConfigOption();
        var id = new Argument<string>("ID") { Description = "The token's id, as tokens list shows it." };
        var command = new Command("revoke", "Revokes a token: a running relay refuses it from its next request on (TOKEN_REVOKED).") { config, id };
        command.SetAction(result => WithStore(result, config, store => Revoke(store, result.GetValue(id)!)));
        return command;
    }

    private static int WithStore(ParseResult result, Option<string?> config, Func<TokenStore, int> verb)
    {
        if (RelayConfiguration.TryLoadValid(result, config, "edgerelay tokens: the configuration has problems:", out var loaded) is { } refused)
        {
            return refused;
        }

        var options = loaded.Options;
        var path = options.Access.ResolveTokensFile(Path.GetFullPath(options.Storage.DataDir));
        PrivateFiles.CreateOwnerOnly(); // the token file holds hashes of secrets: 0600, like the relay's own files

        try
        {
            using var store = TokenStore.Open(path, options.Access.DefaultLimits, TimeProvider.System);
            return verb(store);
        }
        catch (InvalidDataException ex)
        {
            Console.Error.WriteLine("edgerelay tokens: " + ex.Message);
            return ExitCodes.Storage;
        }
    }

    private static int Create(TokenStore store, Dictionary<string, string> own)
    {
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
            return ExitCodes.Usage;
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
        return ExitCodes.Ok;
    }

    private static int List(TokenStore store)
    {
        var tokens = store.List();
        if (tokens.Count == 0)
        {
            Console.WriteLine($"No tokens in {store.Path}. Create one with: edgerelay tokens create --name NAME");
            return ExitCodes.Ok;
        }

        Console.WriteLine($"{"ID",-16}  {"ROLE",-4}  {"CREATED (UTC)",-19}  {"STATE",-28}  {"RATE/S",7}  {"QUEUED MSGS",11}  NAME");
        foreach (var t in tokens)
        {
            var state = t.IsRevoked ? "revoked " + Utc(t.RevokedAt) : "valid";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t.Id,-16}  {(t.Role == TokenRole.Peer ? "peer" : "rm"),-4}  {Utc(t.CreatedAt),-19}  {state,-28}  {t.Limits.RequestsPerSecond,7}  {t.Limits.MaxQueuedMessages,11}  {t.Name}"));
        }

        return ExitCodes.Ok;
    }

    private static int Revoke(TokenStore store, string id)
    {
        // The instance is updated in place by the revocation: read its state first.
        var revokedBefore = store.List().FirstOrDefault(t => t.Id == id)?.RevokedAt ?? 0;
        if (!store.Revoke(id))
        {
            Console.Error.WriteLine($"edgerelay tokens: no token with id '{id}' in {store.Path} (see: edgerelay tokens list).");
            return ExitCodes.Failure;
        }

        Console.WriteLine(revokedBefore != 0
            ? $"Token {id} was already revoked at {Utc(revokedBefore)}."
            : $"Revoked token {id}. A running relay refuses it from its next request on (TOKEN_REVOKED).");
        return ExitCodes.Ok;
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
        Console.Error.WriteLine("edgerelay tokens: " + message + " (see edgerelay tokens create --help)");
        return ExitCodes.Usage;
    }
}
