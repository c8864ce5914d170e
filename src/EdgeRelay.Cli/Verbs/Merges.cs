using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>merge request CONTACT IDENTITY [--keep-this] | accept CONTACT | decline CONTACT</c> (docs/RM-PROTOCOL.md §9.3).</summary>
internal static class Merges
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("merge", "Join two relationships a contact has with you (one per app of yours) into one; both of your apps must ask, each over its own relationship.");
        command.Subcommands.Add(Request(g));
        command.Subcommands.Add(Decide(g, "accept", "Accept a merge a contact proposed ('inbox' shows it): CONTACT's messages move to the relationship kept, and CONTACT ends."));
        command.Subcommands.Add(Decide(g, "decline", "Decline a merge a contact proposed: both relationships stay as they were."));
        return command;
    }

    private static Command Request(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var identity = new Argument<string>("IDENTITY") { Description = "Your other app's identity, in hex (128 digits: 'init --json' printed it)." };
        var keepThis = new Option<bool>("--keep-this") { Description = "Keep this app's relationship and fold the other app's into it (the other app then asks without this option)." };
        var command = new Command("request", "Tell CONTACT that IDENTITY (another app of yours) is you too. Without --keep-this, this relationship is folded into the other app's.") { contactArgument, identity, keepThis };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            if (!Backups.TryParse(result.GetValue(identity)!, out var other))
            {
                output.Error("invalid-identity", "IDENTITY is 64 bytes in hex (128 digits).");
                return ExitCodes.Usage;
            }

            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            await rm.RequestMergeAsync(contact, other, result.GetValue(keepThis), cancellationToken);
            output.Result(RmCommandLine.ContactJson(contact), $"Asked {Inbox.Printable(contact.Name)} to merge; it takes effect when your other app asks too.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Decide(GlobalOptions g, string verb, string description)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var command = new Command(verb, description) { contactArgument };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            if (verb == "accept")
            {
                var kept = await rm.AcceptMergeAsync(contact, cancellationToken);
                output.Result(RmCommandLine.ContactJson(kept), $"Merged: the conversation continues with {Inbox.Printable(kept.Name)} (id {kept.Id}).");
            }
            else
            {
                contact = rm.DeclineMerge(contact);
                output.Result(RmCommandLine.ContactJson(contact), $"Declined; {Inbox.Printable(contact.Name)} stays as it was.");
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
