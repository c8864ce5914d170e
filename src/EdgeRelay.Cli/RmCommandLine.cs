using System.CommandLine;
using System.Net.Sockets;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;
using Rm = EdgeRelay.RelationshipManager.RelationshipManager;

namespace EdgeRelay.Cli;

/// <summary>
/// The verbs of edgerelay-rm, each in its own file under <c>Verbs/</c>, and what they share: opening the RM
/// with its passphrase, and turning every refusal into a message and a stable exit code.
/// </summary>
internal static class RmCommandLine
{
    public static RootCommand Build()
    {
        var g = new GlobalOptions();
        var root = new RootCommand($"edgerelay-rm: a relationship manager. It keeps your identity and contacts, encrypts end to end, and sends and receives through EdgeRelay relays. {ExitCodes.Help}")
        {
            g.Home, g.PassphraseFile, g.Json,
        };
        root.Subcommands.Add(Verbs.Init.Build(g));
        root.Subcommands.Add(Verbs.Invite.Build(g));
        root.Subcommands.Add(Verbs.Accept.Build(g));
        root.Subcommands.Add(Verbs.Contacts.Build(g));
        root.Subcommands.Add(Verbs.Verify.Build(g));
        root.Subcommands.Add(Verbs.Send.Build(g));
        root.Subcommands.Add(Verbs.Inbox.Build(g));
        root.Subcommands.Add(Verbs.Settings.Build(g));
        root.Subcommands.Add(Verbs.Terminate.Build(g));
        root.Subcommands.Add(Verbs.Export.Build(g));
        root.Subcommands.Add(Verbs.Services.Build(g));
        root.Subcommands.Add(Verbs.Groups.Build(g));
        root.Subcommands.Add(Verbs.Succession.Build(g));
        root.Subcommands.Add(Verbs.Merges.Build(g));
        root.Subcommands.Add(Verbs.Backups.Build(g));
        return root;
    }

    public static RelationshipManagerOptions Options(string home, KeyStoreOptions? keyStore = null) => new()
    {
        Home = home,
        KeyStore = keyStore,
        Client = new RelayClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) },
    };

    /// <summary>Opens the RM of the home with its passphrase, runs <paramref name="verb"/>, and maps what it throws to an exit code.</summary>
    public static async Task<int> WithRmAsync(GlobalOptions g, ParseResult result, Func<Rm, Output, Task<int>> verb)
    {
        var output = new Output(result.GetValue(g.Json));
        var passphrase = Passphrase.Read(result.GetValue(g.PassphraseFile), confirm: false, output);
        if (passphrase is null)
        {
            return ExitCodes.Usage;
        }

        return await GuardAsync(output, async () =>
        {
            await using var rm = Rm.Open(Options(g.ResolveHome(result)), passphrase);
            return await verb(rm, output);
        });
    }

    public static async Task<int> GuardAsync(Output output, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (RmException e)
        {
            output.Error(Code(e.Error.ToString()), e.Message);
            return e.Error switch
            {
                RmError.NotInitialized or RmError.AlreadyInitialized => ExitCodes.Home,
                RmError.SafetyNumberMismatch => ExitCodes.Mismatch,
                RmError.ServiceUnavailable => ExitCodes.Unavailable,
                _ => ExitCodes.Refused,
            };
        }
        catch (KeyStoreException e)
        {
            output.Error(Code(e.Error.ToString()), e.Message);
            return e.Error is KeyStoreError.ParametersOutOfRange or KeyStoreError.PassphraseUnusable ? ExitCodes.Usage : ExitCodes.WrongPassphrase;
        }
        catch (InvitationException e)
        {
            output.Error("invitation-" + Code(e.Error.ToString()), e.Message);
            return ExitCodes.Refused;
        }
        catch (StateException e)
        {
            output.Error("state-" + Code(e.Error.ToString()), e.Message);
            return ExitCodes.Refused;
        }
        catch (Exception e) when (e is RelayException or SocketException or TimeoutException || e is IOException { InnerException: SocketException })
        {
            output.Error("relay-unavailable", $"The relay could not be reached or refused: {e.Message}");
            return ExitCodes.Unavailable;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            output.Error("failure", $"{e.GetType().Name}: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The CONTACT argument of the verbs that act on one relationship (<see cref="Rm.FindContact"/> resolves it).</summary>
    public static Argument<string> ContactArgument() => new("CONTACT") { Description = "The contact's id or name." };

    /// <summary>"SafetyNumberMismatch" → "safety-number-mismatch": the codes scripts see in --json errors.</summary>
    public static string Code(string name) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(name);

    public static string Describe(Contact contact) =>
        contact.State switch
        {
            RelationshipState.AwaitingReply => "awaiting their reply",
            RelationshipState.Established => contact.Verified ? "verified" : "not verified",
            RelationshipState.TerminatedByUs => "terminated by you",
            RelationshipState.TerminatedByThem => "terminated by them",
            RelationshipState.KeyChangePending => "KEY CHANGED: compare safety numbers (verify)",
            RelationshipState.HandedOver => "handed over to your new app",
            RelationshipState.Merged => "merged into another contact",
            _ => contact.State.ToString(),
        };

    public static object ContactJson(Contact c) => new
    {
        id = c.Id,
        name = c.Name,
        state = c.State,
        verified = c.Verified,
        identity = Convert.ToHexStringLower(c.Identity.Bytes),
        policy = Verbs.Settings.Format(c.Policy),
        readReceipts = c.ReadReceipts,
        since = c.Since,
    };
}
