using System.CommandLine;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>backup set IDENTITY | show CONTACT</c> (docs/RM-PROTOCOL.md §9.1).</summary>
internal static class Backups
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("backup", "Name another app of yours as your backup, so that contacts follow a later hand-over to it without asking; or show the backup a contact named.");
        command.Subcommands.Add(Set(g));
        command.Subcommands.Add(Show(g));
        return command;
    }

    private static Command Set(GlobalOptions g)
    {
        var identity = new Argument<string>("IDENTITY") { Description = "The backup app's identity, in hex (128 digits: its 'init --json' printed it)." };
        var command = new Command("set", "Tell every contact that IDENTITY is your backup app (contacts added later are not told: run it again).") { identity };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            if (!TryParse(result.GetValue(identity)!, out var backup))
            {
                output.Error("invalid-identity", "IDENTITY is 64 bytes in hex (128 digits).");
                return ExitCodes.Usage;
            }

            var told = await rm.SetBackupAsync(backup, cancellationToken);
            output.Result(new { told = told.Select(RmCommandLine.ContactJson) }, $"Told {told.Count} contact(s) that your backup app is {backup}.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Show(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var command = new Command("show", "Show the backup identity a contact named, if any.") { contactArgument };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, (rm, output) =>
        {
            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            var backup = rm.GetBackup(contact);
            output.Result(
                new { contact = RmCommandLine.ContactJson(contact), backup = backup is null ? null : Convert.ToHexStringLower(backup.Bytes) },
                backup is null ? $"{Inbox.Printable(contact.Name)} named no backup." : $"{Inbox.Printable(contact.Name)}'s backup: {Convert.ToHexStringLower(backup.Bytes)}");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    internal static bool TryParse(string hex, out PublicIdentity identity)
    {
        try
        {
            identity = PublicIdentity.FromBytes(Convert.FromHexString(hex));
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            identity = null!;
            return false;
        }
    }
}
