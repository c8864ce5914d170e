using EdgeRelay.Server;
using Microsoft.Extensions.Configuration;

namespace EdgeRelay.Executable;

/// <summary>Where options come from, lowest precedence first: the JSON file, EDGERELAY_* variables, the command line.</summary>
internal static class ServerConfiguration
{
    public const string EnvironmentPrefix = "EDGERELAY_";

    /// <summary>
    /// Builds the options. The file is --config PATH, else EDGERELAY_CONFIG, else config/edgerelay.json in
    /// the working directory, else the copy beside the binary. Every problem found (unknown keys, values of
    /// the wrong type, values out of range) is added to <paramref name="problems"/>, each naming its option.
    /// </summary>
    public static EdgeRelayOptions Load(string[] args, out string? configPath, List<string> problems)
    {
        configPath = FindConfigFile(args);
        var builder = new ConfigurationBuilder();
        if (configPath is not null)
        {
            builder.AddJsonFile(configPath, optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddCommandLine(args.Where((a, i) => !IsConfigSwitch(args, i)).ToArray());
        IConfiguration configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            throw new ConfigurationException($"EdgeRelay cannot read its configuration ({configPath}): {ex.Message}", ex);
        }

        var options = new EdgeRelayOptions();
        var sections = new (string Name, object Target)[]
        {
            ("Relay", options.Relay), ("Http", options.Http), ("Storage", options.Storage), ("Log", options.Log),
            ("Notify", options.Notify), ("Tls", options.Tls), ("Access", options.Access), ("Roles", options.Roles),
            ("Sending", options.Sending), ("Attachments", options.Attachments), ("Forwarding", options.Forwarding),
            ("Limits", options.Limits),
            ("Admin", options.Admin),
        };
        foreach (var (name, target) in sections)
        {
            Bind(configuration.GetSection(name), target, problems);
        }

        // A misspelt section ("Relya") would otherwise leave every option in it at its default without a word.
        foreach (var top in configuration.GetChildren())
        {
            if (!sections.Any(s => string.Equals(s.Name, top.Key, StringComparison.OrdinalIgnoreCase)) && !IsOtherProgramsVariable(top.Key))
            {
                problems.Add($"{top.Key}: unknown section (the sections are {string.Join(", ", sections.Select(s => s.Name))}).");
            }
        }

        problems.AddRange(options.Validate()); // a value that did not convert kept its default, which is valid

        return options;
    }

    /// <summary>
    /// Variables with our prefix that are not options: EDGERELAY_CONFIG names the file, EDGERELAY_ADMIN_TOKEN is what
    /// <c>edgerelay admin</c> presents, and EDGERELAY_RM_* belong to
    /// the relationship manager's command line, which a relay's operator may well have set in the same shell.
    /// </summary>
    private static bool IsOtherProgramsVariable(string key) =>
        string.Equals(key, "CONFIG", StringComparison.OrdinalIgnoreCase) || string.Equals(key, "ADMIN_TOKEN", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith("RM_", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Sets each key of a section on its options object, collecting every problem instead of stopping at
    /// the first (the configuration binder throws on the first): a misspelt key must not be silently
    /// ignored, and an operator should fix the whole file in one go.
    /// </summary>
    private static void Bind(IConfigurationSection section, object target, List<string> problems)
    {
        var properties = target.GetType().GetProperties().Where(p => p.CanWrite).ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            var name = $"{section.Path}:{child.Key}";
            if (!properties.TryGetValue(child.Key, out var property))
            {
                problems.Add($"{name}: unknown option (the {section.Path} options are {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}).");
                continue;
            }

            if (EdgeRelayOptions.IsSection(property.PropertyType) && property.GetValue(target) is { } nested)
            {
                // A section inside a section (Storage:JetStream): its keys are checked the same way.
                Bind(child, nested, problems);
                continue;
            }

            if (property.GetValue(target) is Dictionary<string, string> map)
            {
                // A map option (Forwarding:PeerTokens): its keys are data, e.g. endpoints, not option names. An
                // endpoint's "host:port" is split at its colon like any configuration path, so the key is the
                // whole path below the map, not its first segment.
                foreach (var (key, value) in child.AsEnumerable(makePathsRelative: true))
                {
                    if (value is not null)
                    {
                        map[key] = value;
                    }
                }

                continue;
            }

            if (property.GetValue(target) is List<string> list)
            {
                // A list option (Relay:AlternativeEndpoints): a JSON array arrives as keys 0, 1, ... in numeric order, and a
                // variable or the command line sets one entry by its index (Relay__AlternativeEndpoints__0). An empty
                // array is a key of its own with no entries: the list stays empty.
                list.Clear();
                foreach (var item in child.GetChildren())
                {
                    if (item.Value is null || item.GetChildren().Any())
                    {
                        problems.Add($"{item.Path}: a list entry must be one value.");
                        continue;
                    }

                    list.Add(item.Value);
                }

                if (list.Count == 0 && !string.IsNullOrEmpty(child.Value))
                {
                    problems.Add($"{name}: a list; give its entries as {name}:0, {name}:1, ... (in JSON, an array).");
                }

                continue;
            }

            if (child.Value is null)
            {
                continue; // null in the file: keep the default
            }

            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            try
            {
                property.SetValue(target, System.ComponentModel.TypeDescriptor.GetConverter(type).ConvertFromInvariantString(child.Value));
            }
            catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException)
            {
                var expected = type == typeof(TimeSpan) ? "a duration such as 00:00:10 or 30.00:00:00"
                    : type == typeof(int) || type == typeof(long) ? "a whole number"
                    : type == typeof(bool) ? "true or false"
                    : $"a {type.Name}";
                problems.Add($"{name}: '{child.Value}' is not {expected}.");
            }
        }
    }

    private static bool IsConfigSwitch(string[] args, int i) =>
        args[i] is "--config" || args[i].StartsWith("--config=", StringComparison.Ordinal)
        || (i > 0 && args[i - 1] == "--config");

    private static string? FindConfigFile(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                return RequireFile(args[i + 1]);
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return RequireFile(args[i]["--config=".Length..]);
            }
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentPrefix + "CONFIG");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return RequireFile(fromEnvironment);
        }

        var local = Path.GetFullPath(Path.Combine("config", "edgerelay.json"));
        if (File.Exists(local))
        {
            return local;
        }

        var beside = Path.Combine(AppContext.BaseDirectory, "edgerelay.json");
        return File.Exists(beside) ? beside : null;
    }

    private static string RequireFile(string path)
    {
        var full = Path.GetFullPath(path);
        return File.Exists(full) ? full : throw new ConfigurationException($"EdgeRelay cannot start: the configuration file '{full}' does not exist.");
    }
}

internal sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ConfigurationException()
    {
    }
}
