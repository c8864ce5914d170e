using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>successor invite | handover INVITATION | accept CONTACT | decline CONTACT</c>: moving to another app (docs/RM-PROTOCOL.md §9.2).</summary>
internal static class Succession
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("successor", "Move to another relationship-manager app without moving any private key: the new app invites, the old app hands over to every contact, and contacts follow (at once when they verified you, else after accepting).");
        command.Subcommands.Add(Invite(g));
        command.Subcommands.Add(HandOver(g));
        command.Subcommands.Add(Accept(g));
        command.Subcommands.Add(Decline(g));
        return command;
    }

    private static Command Invite(GlobalOptions g)
    {
        var command = new Command("invite", "In the NEW app: print a successor invitation, for 'edgerelay-rm successor handover' in the old app. Every contact of the old app may accept it until it expires.");
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var invitation = await rm.CreateSuccessorInvitationAsync(cancellationToken);
            output.Result(new { invitation }, invitation);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command HandOver(GlobalOptions g)
    {
        var invitation = new Argument<string>("INVITATION") { Description = "The new app's successor invitation (edgerelay-successor1:…), or - to read it from stdin." };
        var command = new Command("handover", "In the OLD app: introduce the new app to every contact, signed by this app's identity, then stop sending from here.") { invitation };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var text = result.GetValue(invitation)!;
            if (text == "-")
            {
                text = await Console.In.ReadToEndAsync(cancellationToken);
            }

            var told = await rm.HandOverAsync(text.Trim(), cancellationToken);
            output.Result(
                new { told = told.Select(RmCommandLine.ContactJson) },
                told.Count == 0
                    ? "No working contact to hand over."
                    : $"Handed over to the new app; told {told.Count} contact(s): {string.Join(", ", told.Select(c => Inbox.Printable(c.Name)))}. Nothing more is sent from this app.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Accept(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var command = new Command("accept", "Accept the successor app a contact proposed ('inbox' shows the proposal and its safety number): the conversation continues with it, history kept.") { contactArgument };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var contact = await rm.AcceptSuccessorAsync(rm.FindContact(result.GetValue(contactArgument)!), cancellationToken);
            output.Result(
                RmCommandLine.ContactJson(contact),
                $"{Inbox.Printable(contact.Name)} continues in their new app (id {contact.Id}); compare safety numbers with 'edgerelay-rm verify {contact.Id}'.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Decline(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var command = new Command("decline", "Decline the successor app a contact proposed: nothing changes.") { contactArgument };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, (rm, output) =>
        {
            var contact = rm.DeclineSuccessor(rm.FindContact(result.GetValue(contactArgument)!));
            output.Result(RmCommandLine.ContactJson(contact), $"Declined; {Inbox.Printable(contact.Name)} stays as it was.");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }
}
