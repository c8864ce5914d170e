using System.CommandLine;
using EdgeRelay.Server;
using EdgeRelay.Storage.Faster;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// <c>edgerelay [serve]</c>: runs the relay until SIGTERM. The executable only turns configuration into options
/// and runs a host (the Garnet habit): all the relay's behaviour lives in EdgeRelay.Server, where the tests reach
/// it too. Each way a start can fail ends in one line on standard error and its own exit code.
/// </summary>
internal static partial class ServeCommand
{
    public const string Description = "Runs the relay until SIGTERM or Ctrl+C (the default when no verb is given).";

    internal static Command Create()
    {
        var command = new Command("serve", Description);
        AddTo(command);
        return command;
    }

    /// <summary>Makes <paramref name="command"/> run the relay: the <c>serve</c> verb, and the root command without a verb.</summary>
    internal static void AddTo(Command command)
    {
        var config = RelayConfiguration.CreateConfigOption();
        command.Options.Add(config);
        command.SetAction((result, _) => RunAsync(result, config));
    }

    private static async Task<int> RunAsync(ParseResult result, Option<string?> config)
    {
        if (RelayConfiguration.TryLoadValid(result, config, "EdgeRelay cannot start: the configuration has problems:", out var loaded) is { } refused)
        {
            return refused;
        }

        var options = loaded.Options;
        void ConfigureLogging(ILoggingBuilder logging) => ServeLogging.Configure(logging, options.Log);

        // Every line on standard output goes through the logger, so that with Log:Format=json each one is JSON.
        using (var startup = LoggerFactory.Create(ConfigureLogging))
        {
            var logger = startup.CreateLogger("EdgeRelay.Relay");
            if (loaded.ConfigPath is not null)
            {
                ConfigurationFile(logger, loaded.ConfigPath);
            }

            if (PrivateFiles.Restrict(Path.GetFullPath(options.Storage.DataDir)) is { } failure)
            {
                Console.Error.WriteLine("EdgeRelay cannot start: " + failure);
                return ExitCodes.Failure;
            }
        }

        RelayHost host;
        try
        {
            host = await RelayHost.StartAsync(options, ConfigureLogging);
        }
        catch (Exception ex)
        {
            var (code, message) = Explain(ex);
            if (code == ExitCodes.Failure)
            {
                throw; // not foreseen: the stack trace is what the operator reports
            }

            Console.Error.WriteLine("EdgeRelay cannot start: " + message);
            return code;
        }

        await using (host)
        {
            // SIGHUP, an edit of the configuration file and POST /admin/reload all reload it; what can change
            // live applies at once, the rest is named as needing a restart.
            using var reloader = new ConfigurationReloader(loaded.Arguments, loaded.ConfigPath, host.Server, host.CreateLogger("EdgeRelay.Relay"));
            host.Server.ReloadConfiguration = reloader.Reload;
            await host.WaitForShutdownAsync();
            if (host.Server.HasStorageFailed)
            {
                return ExitCodes.StorageFailed; // the relay's own critical line said why
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>The exit code and the one line for a start that failed for a reason an operator can act on.</summary>
    private static (int Code, string Message) Explain(Exception ex) => ex switch
    {
        // A certificate that does not load is a configuration problem like any other.
        InvalidOperationException when ex.Message.StartsWith("Tls:", StringComparison.Ordinal) => (ExitCodes.Usage, ex.Message),

        // The storage refused its files (a damaged log, a missing snapshot, another format): the message names
        // the folder, the offsets and what to do. Nothing was changed on disk.
        InvalidDataException => (ExitCodes.Storage, ex.Message),
        DataFolderInUseException => (ExitCodes.DataFolderInUse, ex.Message),
        EndpointInUseException => (ExitCodes.PortInUse, ex.Message),
        _ => (ExitCodes.Failure, ex.Message),
    };

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "EdgeRelay configuration: {ConfigurationFile}")]
    private static partial void ConfigurationFile(ILogger logger, string configurationFile);
}
