using System.CommandLine;
using QRCoder;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>invite [--no-qr]</c>: prints an invitation, and its QR code for a phone's camera.</summary>
internal static class Invite
{
    public static Command Build(GlobalOptions g)
    {
        var noQr = new Option<bool>("--no-qr") { Description = "Print the invitation text only, without the QR code." };
        var command = new Command("invite", "Create a one-time invitation (with an address of its own) and print it, with a QR code. Give it to one person; when they accept, 'inbox' shows them as a new contact.") { noQr };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var invitation = await rm.CreateInvitationAsync(cancellationToken);
            var text = invitation;
            if (!output.Json && !result.GetValue(noQr))
            {
                text = Render(invitation) + "\n" + invitation;
            }

            output.Result(new { invitation }, text);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The QR code in half-height blocks: two modules per character row, so it fits a terminal.</summary>
    internal static string Render(string invitation)
    {
        using var generator = new QRCodeGenerator();
        // Level L: the most data per module; a terminal or screen is read in good conditions.
        using var data = generator.CreateQrCode(invitation, QRCodeGenerator.ECCLevel.L);
        using var code = new AsciiQRCode(data);
        return code.GetGraphicSmall();
    }
}
