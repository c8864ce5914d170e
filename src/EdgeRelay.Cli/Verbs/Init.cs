using System.CommandLine;
using EdgeRelay.RelationshipManager;
using EdgeRelay.RelationshipManager.Identity;
using Rm = EdgeRelay.RelationshipManager.RelationshipManager;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>init --name NAME --relay HOST:PORT [--pin PIN]</c>: a new identity and a first address.</summary>
internal static class Init
{
    public static Command Build(GlobalOptions g)
    {
        var name = new Option<string>("--name") { Description = "Your name as your contacts will see it (1 to 64 bytes).", Required = true, HelpName = "NAME" };
        var relay = new Option<string>("--relay") { Description = "host:port of the relay that receives for you (and sends, with --token).", Required = true, HelpName = "HOST:PORT" };
        var pin = new Option<string?>("--pin")
        {
            Description = "For a relay with TLS: the SHA-256 of its certificate's public key, as the relay prints it at start (hex or base64). Default: none = plain TCP.",
            HelpName = "PIN",
        };
        var token = new Option<string?>("--token")
        {
            Description = "An RM token of that relay: send through it (its sending service) instead of straight to each contact's relay. Default: none.",
            HelpName = "TOKEN",
        };
        var kdfMemory = new Option<int?>("--kdf-memory-mib")
        {
            Description = $"Memory of the passphrase's key derivation (Argon2id), in MiB: what each guess at your passphrase costs an attacker who copies the key store, and what each run costs you. Default {KeyStoreOptions.Default.MemoryKiB / 1024}; at least {KeyStoreOptions.MinMemoryKiB / 1024}.",
            HelpName = "MIB",
        };
        var kdfIterations = new Option<int?>("--kdf-iterations")
        {
            Description = $"Passes of the key derivation over that memory. Default {KeyStoreOptions.Default.Iterations}; {KeyStoreOptions.MinIterations} to {KeyStoreOptions.MaxIterations}.",
            HelpName = "N",
        };
        var command = new Command("init", "Create your identity (sealed with a passphrase) and a first address on your relay.") { name, relay, pin, token, kdfMemory, kdfIterations };
        command.SetAction(async (result, cancellationToken) =>
        {
            var output = new Output(result.GetValue(g.Json));
            byte[] pinBytes = [];
            if (result.GetValue(pin) is { } pinText && !TryParsePin(pinText, out pinBytes))
            {
                output.Error("invalid-pin", "A pin is 32 bytes in hex (64 digits) or base64.");
                return ExitCodes.Usage;
            }

            var kdf = KeyStoreOptions.Default with
            {
                MemoryKiB = (result.GetValue(kdfMemory) ?? (KeyStoreOptions.Default.MemoryKiB / 1024)) * 1024,
                Iterations = result.GetValue(kdfIterations) ?? KeyStoreOptions.Default.Iterations,
            };
            var home = g.ResolveHome(result);
            var passphrase = Passphrase.Read(result.GetValue(g.PassphraseFile), confirm: true, output);
            if (passphrase is null)
            {
                return ExitCodes.Usage;
            }

            return await RmCommandLine.GuardAsync(output, async () =>
            {
                await using var rm = await Rm.InitializeAsync(
                    RmCommandLine.Options(home, kdf), passphrase, result.GetValue(name)!, result.GetValue(relay)!, pinBytes, result.GetValue(token), cancellationToken);
                output.Result(
                    new { home, name = rm.Name, identity = Convert.ToHexStringLower(rm.Identity.Bytes) },
                    $"Created {rm.Name}'s relationship manager in {home}.\nNext: 'edgerelay-rm invite' and give the invitation to someone, or 'edgerelay-rm accept INVITATION'.");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    internal static bool TryParsePin(string text, out byte[] pin)
    {
        pin = [];
        try
        {
            pin = text.Length == 64 ? Convert.FromHexString(text) : Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return false;
        }

        return pin.Length == 32;
    }
}
