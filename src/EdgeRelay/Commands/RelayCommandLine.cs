using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// The root of <c>edgerelay</c>: runs the relay when no verb is given, gives every verb --help and --version,
/// and turns every parse error (unknown verb or flag, missing or bad argument) into one line and exit 2.
/// </summary>
internal static class RelayCommandLine
{
    public static async Task<int> RunAsync(string[] args, IEnumerable<Command> verbs)
    {
        var rest = RelayConfiguration.Split(args, out var splitError);
        if (rest is null)
        {
            return UsageError("edgerelay", splitError!);
        }

        var root = Build(verbs);
        var result = root.Parse(rest);
        if (result.Action is ParseErrorAction)
        {
            return UsageError(CommandPath(result), result.Errors[0].Message);
        }

        // Configuration keys mean nothing to a verb that reads no configuration (cert dev): refused, as a
        // misplaced flag would be. --help and --version still answer whatever else is on the line.
        if (RelayConfiguration.Overrides.Count > 0 && result.Action == result.CommandResult.Command.Action && !ReadsConfiguration(result.CommandResult))
        {
            return UsageError(CommandPath(result), $"'{RelayConfiguration.Overrides[0]}': this verb reads no configuration.");
        }

        // The host handles SIGTERM and Ctrl+C itself (drain, then exit 0): the parser must not add its own handler.
        return await result.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static RootCommand Build(IEnumerable<Command> verbs)
    {
        var root = new RootCommand(
            $"""
            edgerelay: an EdgeRelay relay. Without a verb it runs the relay (as serve does).
            Configuration: --config PATH, EDGERELAY_Section__Key variables, and --Section:Key=VALUE (or --Section:Key VALUE), the last winning.

            {ExitCodes.Help}
            """);
        ServeCommand.AddTo(root);
        foreach (var verb in verbs)
        {
            root.Subcommands.Add(verb);
        }

        AddVersion(root);
        return root;
    }

    /// <summary>RootCommand has --version; each verb gets its own, so "edgerelay VERB --version" answers too.</summary>
    private static void AddVersion(Command command)
    {
        foreach (var verb in command.Subcommands)
        {
            if (!verb.Options.Any(o => o is VersionOption))
            {
                verb.Options.Add(new VersionOption());
            }

            AddVersion(verb);
        }
    }

    /// <summary>Whether the verb has --config, its own or a recursive one of a parent (admin's verbs).</summary>
    private static bool ReadsConfiguration(CommandResult verb)
    {
        for (var command = verb; command is not null; command = command.Parent as CommandResult)
        {
            if (command.Command.Options.Any(o => o.Name == "--config" && (command == verb || o.Recursive)))
            {
                return true;
            }
        }

        return false;
    }

    private static string CommandPath(ParseResult result)
    {
        var names = new List<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as CommandResult)
        {
            names.Add(command.Command is RootCommand ? "edgerelay" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private static int UsageError(string command, string message)
    {
        Console.Error.WriteLine($"{command}: {message} (see {command} --help)");
        return ExitCodes.Usage;
    }
}
