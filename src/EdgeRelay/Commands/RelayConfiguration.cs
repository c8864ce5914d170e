using System.CommandLine;
using EdgeRelay.Server;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// The relay's configuration on the command line, shared by the verbs that read it: <c>--config PATH</c> (a
/// verb option) and overrides shaped like <c>--Section:Key=value</c> or <c>--Section:Key value</c>, which are
/// configuration keys rather than flags of a verb, so they are taken out before the verbs are parsed.
/// </summary>
internal static class RelayConfiguration
{
    /// <summary>The overrides taken out of this process's arguments, each as <c>--Section:Key=value</c>.</summary>
    public static IReadOnlyList<string> Overrides { get; private set; } = [];

    /// <summary>The <c>--config</c> option; a verb that has it accepts the overrides too.</summary>
    public static Option<string?> CreateConfigOption() => new("--config")
    {
        Description = "The configuration file (default: EDGERELAY_CONFIG, else config/edgerelay.json, else the copy beside the binary). "
            + "Any option can also be set as --Section:Key=VALUE or --Section:Key VALUE (e.g. --Relay:Endpoint=0.0.0.0:7400), "
            + "which wins over EDGERELAY_Section__Key variables and the file.",
        HelpName = "PATH",
    };

    /// <summary>
    /// Takes the configuration overrides out of <paramref name="args"/> and returns what is left for the verbs.
    /// Null (with <paramref name="error"/>) when an override has no value.
    /// </summary>
    public static string[]? Split(string[] args, out string? error)
    {
        error = null;
        var overrides = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--")
            {
                rest.AddRange(args[i..]); // everything after is an argument, never an option
                break;
            }

            if (!IsOverride(args[i]))
            {
                rest.Add(args[i]);
            }
            else if (args[i].Contains('=', StringComparison.Ordinal))
            {
                overrides.Add(args[i]);
            }
            else if (i + 1 < args.Length)
            {
                overrides.Add(args[i] + "=" + args[++i]);
            }
            else
            {
                error = $"{args[i]} needs a value ({args[i]}=VALUE or {args[i]} VALUE).";
                return null;
            }
        }

        Overrides = overrides;
        return [.. rest];
    }

    /// <summary>
    /// Reads the configuration as the relay would: the file, the EDGERELAY_* variables, the overrides. Returns
    /// the exit code when it cannot be read (its message written); problems found in it are left to the caller.
    /// </summary>
    public static int? TryLoad(ParseResult result, Option<string?> configOption, List<string> problems, out Loaded loaded)
    {
        var config = result.GetValue(configOption);
        string[] arguments = config is null ? [.. Overrides] : ["--config", config, .. Overrides];
        try
        {
            var options = ServerConfiguration.Load(arguments, out var path, problems);
            loaded = new Loaded(options, path, arguments);
            return null;
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            loaded = null!;
            return ExitCodes.Usage;
        }
    }

    /// <summary>
    /// <see cref="TryLoad"/> for a verb that needs a valid configuration: problems are written under
    /// <paramref name="heading"/>, one per line, and refuse it with exit 2.
    /// </summary>
    public static int? TryLoadValid(ParseResult result, Option<string?> configOption, string heading, out Loaded loaded)
    {
        var problems = new List<string>();
        if (TryLoad(result, configOption, problems, out loaded) is { } unreadable)
        {
            return unreadable;
        }

        if (problems.Count == 0)
        {
            return null;
        }

        Console.Error.WriteLine(heading);
        problems.ForEach(p => Console.Error.WriteLine("  - " + p));
        return ExitCodes.Usage;
    }

    /// <summary>A configuration key: two dashes, then a section name, a colon and more (Forwarding:PeerTokens:host:port).</summary>
    private static bool IsOverride(string arg)
    {
        if (arg.Length < 4 || !arg.StartsWith("--", StringComparison.Ordinal) || !char.IsAsciiLetter(arg[2]))
        {
            return false;
        }

        var colon = arg.IndexOf(':', StringComparison.Ordinal);
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return colon > 2 && (equals < 0 || colon < equals)
            && !arg.AsSpan(2, colon - 2).Equals("config", StringComparison.OrdinalIgnoreCase); // --config:PATH is the verb option's own syntax
    }

    /// <param name="Arguments">What <see cref="ServerConfiguration.Load"/> reads again on a reload.</param>
    internal sealed record Loaded(EdgeRelayOptions Options, string? ConfigPath, string[] Arguments);
}
