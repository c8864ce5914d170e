using EdgeRelay.Executable;
using EdgeRelay.Server;
using Microsoft.Extensions.Logging;

// The executable only turns configuration into options and runs a host (the Garnet habit): all the
// relay's behaviour lives in EdgeRelay.Server, where the tests reach it too.
// `edgerelay cert dev [...]` writes a self-signed TLS certificate for testing, and exits.
if (args.Length > 0 && args[0] == "cert")
{
    return CertCommand.Run(args[1..]);
}

// `edgerelay tokens create|list|revoke [...]` manages the access tokens of the sending service, and exits.
if (args.Length > 0 && args[0] == "tokens")
{
    return TokensCommand.Run(args[1..]);
}

// `edgerelay healthcheck [options]` asks a running relay's /healthz instead (the container's HEALTHCHECK).
var healthCheck = args.Length > 0 && args[0] == "healthcheck";
if (healthCheck)
{
    args = args[1..];
}

// `edgerelay check-config [--config PATH] [options]` reports every problem of a configuration and exits.
var checkConfig = args.Length > 0 && args[0] == "check-config";
if (checkConfig)
{
    args = args[1..];
}

EdgeRelayOptions options;
var problems = new List<string>();
string? configPath;
try
{
    options = ServerConfiguration.Load(args, out configPath, problems);
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (healthCheck)
{
    return await HealthCheck.RunAsync(options);
}

if (problems.Count > 0)
{
    Console.Error.WriteLine(checkConfig
        ? $"{configPath ?? "(no file)"}: {problems.Count} problem(s):"
        : "EdgeRelay cannot start: the configuration has problems:");
    foreach (var problem in problems)
    {
        Console.Error.WriteLine("  - " + problem);
    }

    return 2;
}

if (checkConfig)
{
    Console.WriteLine($"{configPath ?? "(no file: embedded defaults)"}: OK");
    return 0;
}

if (configPath is not null)
{
    Console.WriteLine($"EdgeRelay configuration: {configPath}");
}

RelayHost host;
try
{
    host = await RelayHost.StartAsync(options, ConfigureLogging);
}
catch (InvalidOperationException ex) when (ex.Message.StartsWith("Tls:", StringComparison.Ordinal))
{
    // A certificate that does not load is a configuration problem like any other: name it, exit 2.
    Console.Error.WriteLine("EdgeRelay cannot start: " + ex.Message);
    return 2;
}
catch (InvalidDataException ex)
{
    // The storage refused its files (a damaged log, a missing snapshot, another format): the message names
    // the folder, the offsets and what to do. Nothing was changed on disk.
    Console.Error.WriteLine("EdgeRelay cannot start: " + ex.Message);
    return 3;
}

await using (host)
{
    // SIGHUP or an edit of the configuration file reloads it: the Sending section applies at once.
    using var reloader = new ConfigurationReloader(args, configPath, host.Server, host.CreateLogger("EdgeRelay.Relay"));
    await host.WaitForShutdownAsync();
}

return 0;

void ConfigureLogging(ILoggingBuilder logging)
{
    if (options.Log.IsJson)
    {
        logging.AddJsonConsole(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
    }
    else
    {
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
    }

    logging.SetMinimumLevel(options.Log.MinimumLevel);
    logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
}
