using System.CommandLine;
using System.Text;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>contacts</c>: every relationship, with its state.</summary>
internal static class Contacts
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("contacts", "List your contacts: id, name, state (verified, awaiting reply, key changed, terminated) and delivery policy.");
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, (rm, output) =>
        {
            var contacts = rm.GetContacts();
            if (output.Json)
            {
                foreach (var contact in contacts)
                {
                    output.Result(RmCommandLine.ContactJson(contact), "");
                }

                return Task.FromResult(ExitCodes.Ok);
            }

            var text = new StringBuilder();
            text.Append(contacts.Count == 0 ? "No contacts yet: 'edgerelay-rm invite' or 'edgerelay-rm accept INVITATION'." : "ID  NAME  STATE  POLICY");
            foreach (var c in contacts)
            {
                text.Append('\n').Append(c.Id).Append("  ").Append(c.Name).Append("  ").Append(RmCommandLine.Describe(c)).Append("  ").Append(Settings.Format(c.Policy));
            }

            output.Result(contacts, text.ToString());
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }
}
