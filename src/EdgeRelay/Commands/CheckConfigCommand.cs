using System.CommandLine;

namespace EdgeRelay.Executable.Commands;

/// <summary><c>edgerelay check-config [--config PATH] [--Section:Key=VALUE]...</c>: reports every problem of a configuration at once.</summary>
internal static class CheckConfigCommand
{
    internal static Command Create()
    {
        var config = RelayConfiguration.CreateConfigOption();
        var command = new Command("check-config", "Reads the configuration as the relay would and reports every problem in it at once (exit 2), or OK (exit 0). Starts nothing.")
        {
            config,
        };
        command.SetAction(result =>
        {
            var problems = new List<string>();
            if (RelayConfiguration.TryLoad(result, config, problems, out var loaded) is { } unreadable)
            {
                return unreadable;
            }

            var source = loaded.ConfigPath ?? "(no file: embedded defaults)";
            if (problems.Count > 0)
            {
                Console.Error.WriteLine($"{loaded.ConfigPath ?? "(no file)"}: {problems.Count} problem(s):");
                problems.ForEach(p => Console.Error.WriteLine("  - " + p));
                return ExitCodes.Usage;
            }

            Console.WriteLine($"{source}: OK");
            return ExitCodes.Ok;
        });
        return command;
    }
}
