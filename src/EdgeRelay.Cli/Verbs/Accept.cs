using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>accept INVITATION</c>.</summary>
internal static class Accept
{
    public static Command Build(GlobalOptions g)
    {
        var invitation = new Argument<string>("INVITATION") { Description = "The invitation text (edgerelay-invite1:…), or - to read it from stdin." };
        var command = new Command("accept", "Accept an invitation: the inviter's RM learns of you through the relay. Compare safety numbers with 'verify' before trusting the contact.") { invitation };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var text = result.GetValue(invitation)!;
            if (text == "-")
            {
                text = (await Console.In.ReadToEndAsync(cancellationToken)).Trim();
            }

            var contact = await rm.AcceptInvitationAsync(text.Trim(), cancellationToken);
            output.Result(
                RmCommandLine.ContactJson(contact),
                $"{contact.Name} is now a contact (id {contact.Id}). You can send at once; compare safety numbers with 'edgerelay-rm verify {contact.Id}'.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
