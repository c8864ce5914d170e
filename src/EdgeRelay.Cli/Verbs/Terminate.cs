using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>terminate CONTACT</c>.</summary>
internal static class Terminate
{
    public static Command Build(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var command = new Command("terminate", "End a relationship: they are told (their RM stops sending), your address for them is revoked, and nothing more is sent or shown.") { contactArgument };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var contact = await rm.TerminateAsync(rm.FindContact(result.GetValue(contactArgument)!), cancellationToken);
            output.Result(RmCommandLine.ContactJson(contact), $"The relationship with {contact.Name} is terminated.");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
