using EdgeRelay.Relay;
using Microsoft.Extensions.Configuration;

namespace EdgeRelay.Server;

/// <summary>Where options come from, lowest precedence first: the JSON file, EDGERELAY_* variables, the command line.</summary>
internal static class ServerConfiguration
{
    public const string EnvironmentPrefix = "EDGERELAY_";

    /// <summary>Builds the options. The file is --config PATH, else EDGERELAY_CONFIG, else config/edgerelay.json in the working directory, else the copy beside the binary.</summary>
    public static EdgeRelayOptions Load(string[] args, out string? configPath)
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
        try
        {
            // Section by section, refusing unknown keys: a misspelt option must not be silently ignored.
            configuration.GetSection("Relay").Bind(options.Relay, o => o.ErrorOnUnknownConfiguration = true);
            configuration.GetSection("Http").Bind(options.Http, o => o.ErrorOnUnknownConfiguration = true);
            configuration.GetSection("Storage").Bind(options.Storage, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and the value it could not convert.
            throw new ConfigurationException("EdgeRelay cannot start: " + ex.Message, ex);
        }

        return options;
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
