using System.CommandLine;
using System.Globalization;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>settings CONTACT [--policy P] [--read-receipts on|off]</c>.</summary>
internal static class Settings
{
    public static Command Build(GlobalOptions g)
    {
        var contactArgument = RmCommandLine.ContactArgument();
        var policy = new Option<string?>("--policy")
        {
            Description = "How your relay delivers this contact's messages: 'immediate' (pushed at once), 'batched:SECONDS' (at most once per window: fewer wake-ups, blurred timing) or 'pull-only' (only when you run inbox).",
            HelpName = "immediate|batched:SECONDS|pull-only",
        };
        var readReceipts = new Option<string?>("--read-receipts") { Description = "Tell this contact when you have read their messages. Default: off.", HelpName = "on|off" };
        readReceipts.AcceptOnlyFromAmong("on", "off");
        var command = new Command("settings", "Show or change a contact's delivery policy and read receipts.") { contactArgument, policy, readReceipts };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var contact = rm.FindContact(result.GetValue(contactArgument)!);
            if (result.GetValue(policy) is { } policyText)
            {
                if (!TryParse(policyText, out var parsed))
                {
                    output.Error("invalid-policy", "A policy is 'immediate', 'batched:SECONDS' (1 to 3600) or 'pull-only'.");
                    return ExitCodes.Usage;
                }

                contact = await rm.SetPolicyAsync(contact, parsed, cancellationToken);
            }

            if (result.GetValue(readReceipts) is { } receipts)
            {
                contact = rm.SetReadReceipts(contact, receipts == "on");
            }

            output.Result(RmCommandLine.ContactJson(contact), $"{contact.Name}: policy {Format(contact.Policy)}, read receipts {(contact.ReadReceipts ? "on" : "off")}.");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static string Format(DeliveryPolicy policy) => policy.Kind switch
    {
        DeliveryPolicyKind.Batched => string.Create(CultureInfo.InvariantCulture, $"batched:{policy.Window.TotalSeconds:0.###}"),
        DeliveryPolicyKind.PullOnly => "pull-only",
        _ => "immediate",
    };

    internal static bool TryParse(string text, out DeliveryPolicy policy)
    {
        policy = default;
        switch (text)
        {
            case "immediate":
                policy = DeliveryPolicy.Immediate;
                return true;
            case "pull-only":
                policy = DeliveryPolicy.PullOnly;
                return true;
        }

        if (text.StartsWith("batched:", StringComparison.Ordinal)
            && double.TryParse(text["batched:".Length..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            && seconds is >= 1 and <= 3600)
        {
            policy = DeliveryPolicy.Batched(TimeSpan.FromSeconds(seconds));
            return true;
        }

        return false;
    }
}
