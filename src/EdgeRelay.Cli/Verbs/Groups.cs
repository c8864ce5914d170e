using System.CommandLine;
using System.Text;
using EdgeRelay.RelationshipManager;
using Rm = EdgeRelay.RelationshipManager.RelationshipManager;

namespace EdgeRelay.Cli.Verbs;

/// <summary><c>groups list|create|add|remove|leave|send</c>: groups whose messages go to each member over your relationship with them.</summary>
internal static class Groups
{
    public static Command Build(GlobalOptions g)
    {
        var command = new Command("groups", "Groups: every message goes to each member over your own relationship with them (end-to-end encrypted, no group server). Members who are not each other's contacts are introduced automatically. The first member is the admin, who adds and removes members.");
        command.Subcommands.Add(List(g));
        command.Subcommands.Add(Create(g));
        command.Subcommands.Add(Add(g));
        command.Subcommands.Add(Remove(g));
        command.Subcommands.Add(Leave(g));
        command.Subcommands.Add(Send(g));
        return command;
    }

    private static Argument<string> GroupArgument() => new("GROUP") { Description = "The group's name or id." };

    private static Command List(GlobalOptions g)
    {
        var command = new Command("list", "List your groups: id, name, your standing, and the members as the group lists them, the admin first.");
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, (rm, output) =>
        {
            var groups = rm.GetGroups();
            if (output.Json)
            {
                foreach (var group in groups)
                {
                    output.Result(Json(group), "");
                }

                return Task.FromResult(ExitCodes.Ok);
            }

            var text = new StringBuilder(groups.Count == 0 ? "No groups yet: 'edgerelay-rm groups create NAME CONTACT...'." : "ID  NAME  STANDING  MEMBERS (admin first)");
            foreach (var group in groups)
            {
                text.Append('\n').Append(group.Id).Append("  ").Append(Inbox.Printable(group.Name)).Append("  ").Append(Describe(group)).Append("  ")
                    .AppendJoin(", ", group.Members.Select(m => m.IsYou ? "you" : Inbox.Printable(m.Name)));
            }

            output.Result(groups, text.ToString());
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    private static Command Create(GlobalOptions g)
    {
        var name = new Argument<string>("NAME") { Description = "The group's name, as every member will see it." };
        var contacts = new Argument<string[]>("CONTACT") { Description = "The contacts to add (ids or names).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("create", "Create a group of you (its admin) and these contacts, and tell each of them.") { name, contacts };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var members = result.GetValue(contacts)!.Select(rm.FindContact).ToList();
            return Changed(output, await rm.CreateGroupAsync(result.GetValue(name)!, members, cancellationToken), "Created");
        }));
        return command;
    }

    private static Command Add(GlobalOptions g)
    {
        var group = GroupArgument();
        var contact = RmCommandLine.ContactArgument();
        var command = new Command("add", "Add a contact to a group you are the admin of; every member gets the new list.") { group, contact };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var target = rm.FindGroup(result.GetValue(group)!);
            return Changed(output, await rm.AddToGroupAsync(target.Id, rm.FindContact(result.GetValue(contact)!), cancellationToken), "Added to");
        }));
        return command;
    }

    private static Command Remove(GlobalOptions g)
    {
        var group = GroupArgument();
        var member = new Argument<string>("MEMBER") { Description = "The member's name as the group lists it, or a contact's id or name." };
        var command = new Command("remove", "Remove a member from a group you are the admin of. They are told, and receive nothing of the group from then on.") { group, member };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var target = rm.FindGroup(result.GetValue(group)!);
            var who = result.GetValue(member)!;
            var listed = target.Members.Where(m => !m.IsYou && string.Equals(m.Name, who, StringComparison.OrdinalIgnoreCase)).ToList();
            var identity = listed.Count == 1 ? listed[0].Identity : rm.FindContact(who).Identity;
            return Changed(output, await rm.RemoveFromGroupAsync(target.Id, identity, cancellationToken), "Removed from");
        }));
        return command;
    }

    private static Command Leave(GlobalOptions g)
    {
        var group = GroupArgument();
        var command = new Command("leave", "Leave a group: the members drop you, and nothing of it is sent or shown any more. An admin hands over to the next member.") { group };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
            Changed(output, await rm.LeaveGroupAsync(rm.FindGroup(result.GetValue(group)!).Id, cancellationToken), "Left")));
        return command;
    }

    private static Command Send(GlobalOptions g)
    {
        var group = GroupArgument();
        var text = new Argument<string>("TEXT") { Description = "The message, or - to read it from stdin." };
        var command = new Command("send", "Send a message to every other member of a group. It is stored first; a member you are still being introduced to gets it once you are.") { group, text };
        command.SetAction((result, cancellationToken) => RmCommandLine.WithRmAsync(g, result, async (rm, output) =>
        {
            var target = rm.FindGroup(result.GetValue(group)!);
            var body = result.GetValue(text)!;
            if (body == "-")
            {
                body = (await Console.In.ReadToEndAsync(cancellationToken)).TrimEnd('\n', '\r');
            }

            var message = await rm.SendToGroupAsync(target.Id, body, cancellationToken);
            output.Result(new { group = target.Name, groupId = target.Id.ToString(), id = message.Id.Value }, $"Sent to {Inbox.Printable(target.Name)} ({message.Id}).");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int Changed(Output output, Group group, string what)
    {
        output.Result(Json(group), $"{what} {Inbox.Printable(group.Name)} ({group.Id}): {string.Join(", ", group.Members.Select(m => m.IsYou ? "you" : Inbox.Printable(m.Name)))}.");
        return ExitCodes.Ok;
    }

    internal static string Describe(Group group) => group.Standing switch
    {
        GroupStanding.Member => group.YouAreAdmin ? "admin" : "member",
        GroupStanding.Left => "left",
        _ => "removed",
    };

    internal static object Json(Group group) => new
    {
        id = group.Id.ToString(),
        name = group.Name,
        epoch = group.Epoch,
        standing = Describe(group),
        members = group.Members.Select(m => new { name = m.Name, identity = Convert.ToHexStringLower(m.Identity.Bytes), you = m.IsYou }),
    };

    /// <summary>Marks shown group messages read, per group.</summary>
    internal static void MarkRead(Rm rm, IEnumerable<GroupMessageReceived> shown)
    {
        foreach (var group in shown.GroupBy(m => m.Group))
        {
            rm.MarkGroupRead(group.Key, [.. group.Select(m => m.Id)]);
        }
    }
}
