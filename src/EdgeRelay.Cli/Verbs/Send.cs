using System.CommandLine;
using EdgeRelay.RelationshipManager;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>send CONTACT TEXT</c> (or <c>-</c> for stdin).</summary>
internal static class Send
{
    public static Command Build(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var text = new Argument<string>("TEXT") { Description = "The message, or - to read it from stdin." };
        var command = new Command("send", "Send a message, end-to-end encrypted. It is stored first: if no relay accepts it now (exit 6), the next send or inbox retries it.") { contactArgument, text };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            var body = result.GetValue(text)!;
            if (body == "-")
            {
                body = (await Console.In.ReadToEndAsync(cancellationToken)).TrimEnd('\n', '\r');
            }

            var message = await rm.SendAsync(contact, body, cancellationToken);
            var sent = message.Status != MessageStatus.Queued;
            output.Result(
                new { contact = contact.Name, id = message.Id.Value, status = message.Status },
                sent ? $"Sent to {contact.Name} ({message.Id})." : $"Stored, but no relay accepted it yet: it will be retried ({message.Id}).");
            return sent ? ExitCodes.Ok : ExitCodes.Unavailable;
        }));
        return command;
    }
}
