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
        Bind(configuration.GetSection("Relay"), options.Relay, problems);
        Bind(configuration.GetSection("Http"), options.Http, problems);
        Bind(configuration.GetSection("Storage"), options.Storage, problems);
        Bind(configuration.GetSection("Log"), options.Log, problems);
        Bind(configuration.GetSection("Notify"), options.Notify, problems);
        Bind(configuration.GetSection("Tls"), options.Tls, problems);
        Bind(configuration.GetSection("Access"), options.Access, problems);
        Bind(configuration.GetSection("Roles"), options.Roles, problems);
        Bind(configuration.GetSection("Sending"), options.Sending, problems);
        Bind(configuration.GetSection("Attachments"), options.Attachments, problems);
        Bind(configuration.GetSection("Forwarding"), options.Forwarding, problems);
        problems.AddRange(options.Validate()); // a value that did not convert kept its default, which is valid

        return options;
    }

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
            var name = $"{section.Key}:{child.Key}";
            if (!properties.TryGetValue(child.Key, out var property))
            {
                problems.Add($"{name}: unknown option (the {section.Key} options are {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}).");
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
