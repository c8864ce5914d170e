using System.CommandLine;
using System.Globalization;
using EdgeRelay.RelationshipManager;
using Rm = EdgeRelay.RelationshipManager.RelationshipManager;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>inbox [--follow] [--count N]</c>.</summary>
internal static class Inbox
{
    public static Command Build(GlobalOptions g)
    {
        var follow = new Option<bool>("--follow") { Description = "Stay subscribed and print messages and receipts as they arrive (reconnecting after idle periods, dropped connections and relay restarts) until Ctrl+C." };
        var count = new Option<int?>("--count") { Description = "With --follow: exit after this many messages. Default: never.", HelpName = "N" };
        var command = new Command("inbox", "Collect what has arrived (messages, receipts, new contacts) and print it; messages shown are marked read (and a read receipt sent to contacts you enabled it for).") { follow, count };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            // Messages stored by an earlier run that ended before showing them (killed, or the terminal closed)
            // come first: a message is shown at least once, whatever stops a run.
            var earlier = rm.GetUnreadMessages();
            await ShowAsync(rm, output, earlier, cancellationToken);
            var earlierInGroups = rm.GetUnreadGroupMessages();
            foreach (var e in earlierInGroups)
            {
                Print(output, e);
            }

            Groups.MarkRead(rm, earlierInGroups);
            if (!result.GetValue(follow))
            {
                var events = await rm.ReceiveAsync(cancellationToken);
                var received = events.OfType<MessageReceived>().ToList();
                await rm.BeginShowingAsync(received, cancellationToken);
                foreach (var e in events)
                {
                    Print(output, e);
                }

                await MarkReadAsync(rm, received, cancellationToken);
                Groups.MarkRead(rm, events.OfType<GroupMessageReceived>());
                if (events.Count == 0 && earlier.Count == 0 && earlierInGroups.Count == 0 && !output.Json)
                {
                    output.Result(new { }, "Nothing new.");
                }

                return ExitCodes.Ok;
            }

            var limit = result.GetValue(count);
            var messages = 0;
            try
            {
                await foreach (var e in rm.FollowAsync(cancellationToken))
                {
                    if (e is MessageReceived received)
                    {
                        await ShowAsync(rm, output, [received], cancellationToken);
                    }
                    else
                    {
                        Print(output, e);
                    }

                    if (e is GroupMessageReceived inGroup)
                    {
                        Groups.MarkRead(rm, [inGroup]);
                    }

                    if ((e is MessageReceived or GroupMessageReceived) && ++messages >= limit)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: everything printed was stored and acknowledged; nothing is lost by stopping here.
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Shows messages between the two records that make a kill at any moment harmless: "being shown" before, read
    /// after. A run killed between them leaves them to the next, which prints them with "again" (they may have
    /// been printed); a message printed without it was never printed before.
    /// </summary>
    private static async Task ShowAsync(Rm rm, Output output, IReadOnlyList<MessageReceived> messages, CancellationToken cancellationToken)
    {
        await rm.BeginShowingAsync(messages, cancellationToken);
        foreach (var m in messages)
        {
            Print(output, m);
        }

        await MarkReadAsync(rm, messages, cancellationToken);
    }

    private static async Task MarkReadAsync(Rm rm, IEnumerable<MessageReceived> received, CancellationToken cancellationToken)
    {
        foreach (var group in received.GroupBy(m => m.Contact.Id))
        {
            await rm.MarkReadAsync(group.First().Contact, [.. group.Select(m => m.Id)], cancellationToken);
        }
    }

    private static string Change(GroupChanged c) =>
        (c.Joined.Count, c.Departed.Count) switch
        {
            (0, 0) => "",
            _ => $" ({string.Join("; ", new[] { c.Joined.Count > 0 ? "joined: " + string.Join(", ", c.Joined.Select(m => m.IsYou ? "you" : Printable(m.Name))) : null, c.Departed.Count > 0 ? "departed: " + string.Join(", ", c.Departed.Select(m => Printable(m.Name))) : null }.OfType<string>())})",
        };

    /// <summary>Text from others, made safe for a terminal: control characters (escape sequences) shown as U+FFFD, newlines kept.</summary>
    internal static string Printable(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                var c = source[i];
                span[i] = char.IsControl(c) && c != '\n' ? '\uFFFD' : c;
            }
        });

    private static void Print(Output output, RmEvent e)
    {
        var at = e.At.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var name = Printable(e.Contact?.Name ?? "?");
        switch (e)
        {
            case MessageReceived m:
                output.Result(
                    new { type = "message", contact = name, contactId = m.Contact.Id, id = m.Id.Value, text = m.Text, sentAt = m.SentAt, at = m.At, again = m.MayRepeat },
                    $"[{at}] {name}: {Printable(m.Text)}{(m.MayRepeat ? " (may repeat: shown when a run ended)" : "")}");
                break;
            case ReceiptReceived r:
                output.Result(
                    new { type = r.Kind == ReceiptKind.Read ? "read" : "received", contact = name, contactId = r.Contact.Id, ids = r.Messages.Select(id => id.Value), at = r.At },
                    $"[{at}] {name} {(r.Kind == ReceiptKind.Read ? "read" : "received")} {string.Join(", ", r.Messages)}");
                break;
            case ContactEstablished c:
                output.Result(
                    new { type = "contact", contact = name, contactId = c.Contact.Id, theyAccepted = c.TheyAccepted, at = c.At },
                    c.TheyAccepted
                        ? $"[{at}] {name} accepted your invitation: now a contact (id {c.Contact.Id}); compare safety numbers with 'edgerelay-rm verify {c.Contact.Id}'."
                        : $"[{at}] {name} answered: the relationship is established.");
                break;
            case ContactUpdated u:
                output.Result(new { type = "updated", contact = name, contactId = u.Contact.Id, at = u.At }, $"[{at}] {name} updated their details.");
                break;
            case ContactTerminated t:
                output.Result(new { type = "terminated", contact = name, contactId = t.Contact.Id, at = t.At }, $"[{at}] {name} ended the relationship; nothing more will be sent to them.");
                break;
            case KeyChangeDetected k:
                output.Result(
                    new { type = "key-change", contact = name, contactId = k.Contact.Id, existingId = k.Existing.Id, at = k.At },
                    $"[{at}] WARNING: someone presenting as {name} uses keys other than your contact {k.Existing.Id}'s. Held: nothing is shown or sent until you compare safety numbers ('edgerelay-rm verify {k.Contact.Id}').");
                break;
            case SuccessorProposed p:
                output.Result(
                    new { type = "successor-proposed", contact = name, contactId = p.Contact.Id, successor = Convert.ToHexStringLower(p.Successor.Bytes), safetyNumber = p.SafetyNumber, at = p.At },
                    $"[{at}] {name} moves to a new app. Compare this safety number with them: {p.SafetyNumber}; then 'edgerelay-rm successor accept {p.Contact.Id}' (or decline).");
                break;
            case SuccessorAccepted s:
                output.Result(
                    new { type = "successor", contact = name, contactId = s.Contact.Id, previous = Convert.ToHexStringLower(s.Previous.Bytes), automatically = s.Automatically, at = s.At },
                    $"[{at}] {name} moved to a new app; the conversation continues there.");
                break;
            case ContactContinued c:
                output.Result(
                    new { type = "continued", contact = name, contactId = c.Contact.Id, at = c.At },
                    $"[{at}] {name} followed you to this app: your conversation continues (id {c.Contact.Id}).");
                break;
            case MergeProposed mp:
                output.Result(
                    new { type = "merge-proposed", contact = name, contactId = mp.Contact.Id, intoId = mp.Into.Id, into = Printable(mp.Into.Name), at = mp.At },
                    $"[{at}] {name} and {Printable(mp.Into.Name)} say they are one person: 'edgerelay-rm merge accept {mp.Contact.Id}' joins the conversations (or decline).");
                break;
            case ContactsMerged cm:
                output.Result(
                    new { type = "merged", contact = name, contactId = cm.Contact.Id, intoId = cm.Into.Id, into = Printable(cm.Into.Name), automatically = cm.Automatically, at = cm.At },
                    $"[{at}] {name} merged into {Printable(cm.Into.Name)}: one conversation now.");
                break;
            case BackupAnnounced b:
                output.Result(
                    new { type = "backup", contact = name, contactId = b.Contact.Id, backup = Convert.ToHexStringLower(b.Backup.Bytes), at = b.At },
                    $"[{at}] {name} named a backup app ({b.Backup}): a later move to it will be followed without asking you.");
                break;
            case EnvelopeRefused x:
                output.Result(new { type = "refused", code = RmCommandLine.Code(x.Code), contact = e.Contact?.Name, reason = x.Reason, at = x.At }, $"[{at}] refused a ciphertext ({RmCommandLine.Code(x.Code)}): {x.Reason}");
                break;
            case GroupMessageReceived m:
                var group = Printable(m.GroupName);
                var sender = Printable(m.SenderName);
                output.Result(
                    new { type = "group-message", group = m.GroupName, groupId = m.Group.ToString(), sender = m.SenderName, senderIdentity = Convert.ToHexStringLower(m.Sender.Bytes), id = m.Id.Value, text = m.Text, sentAt = m.SentAt, at = m.At },
                    $"[{at}] {sender} in {group}: {Printable(m.Text)}");
                break;
            case GroupChanged c:
                output.Result(
                    new { type = "group", contact = name, group = c.Group.Name, groupId = c.Group.Id.ToString(), standing = Groups.Describe(c.Group), joined = c.Joined.Select(j => j.Name), departed = c.Departed.Select(d => d.Name), at = c.At },
                    c.Group.Standing == GroupStanding.Removed
                        ? $"[{at}] {name} removed you from {Printable(c.Group.Name)}."
                        : $"[{at}] {Printable(c.Group.Name)}: {string.Join(", ", c.Group.Members.Select(m => m.IsYou ? "you" : Printable(m.Name)))}{Change(c)}.");
                break;
            case ConnectionChanged s:
                Output.Progress(s.Connected ? $"[{at}] connected to {s.Endpoint}" : $"[{at}] {s.Endpoint}: {s.Error}; reconnecting in {s.RetryIn?.TotalSeconds:0.#} s");
                break;
        }
    }
}
