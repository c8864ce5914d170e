using System.CommandLine;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>verify CONTACT [--confirm | --number N]</c>.</summary>
internal static class Verify
{
    public static Command Build(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var confirm = new Option<bool>("--confirm") { Description = "You compared the numbers (in person or on a call you trust) and they match: mark the contact verified. For a key change, this accepts the new keys." };
        var number = new Option<string?>("--number") { Description = "The number the other person read out: compared here; verified on a match, refused (exit 5) on a mismatch.", HelpName = "DIGITS" };
        var command = new Command("verify", "Show the safety number of a relationship, to compare with the other person's; mark it verified once they match.") { contactArgument, confirm, number };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, (rm, output) =>
        {
            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            var safetyNumber = rm.GetSafetyNumber(contact);
            var spoken = result.GetValue(number);
            if (result.GetValue(confirm) || spoken is not null)
            {
                contact = rm.ConfirmVerified(contact, spoken);
                output.Result(
                    new { contact = RmCommandLine.ContactJson(contact), safetyNumber },
                    $"{contact.Name} is verified.");
                return Task.FromResult(ExitCodes.Ok);
            }

            var warning = contact.State == RelationshipManager.RelationshipState.KeyChangePending
                ? $"\nWARNING: {contact.Name} presented keys other than those of your earlier contact of that name. Nothing is sent or shown until you compare this number with them and accept it with --confirm."
                : "";
            output.Result(
                new { contact = RmCommandLine.ContactJson(contact), safetyNumber },
                $"Safety number with {contact.Name}:\n  {safetyNumber}\nCompare it with theirs; if they match, run 'edgerelay-rm verify {contact.Id} --confirm'.{warning}");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }
}
