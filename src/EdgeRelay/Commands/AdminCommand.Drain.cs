using System.CommandLine;
using System.Text.Json;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Executable.Commands;

/// <summary><c>edgerelay admin drain|accept|reload</c>.</summary>
internal static partial class AdminCommand
{
    private static Command Drain() => DrainCommand(
        "drain",
        "Stop taking new messages (SENDs get DRAINING, /readyz answers 503) while pulls, pushes, acks and forwarding go on.",
        "admin/drain");

    private static Command Accept() => DrainCommand("accept", "Take new messages again after a drain.", "admin/accept");

    private static Command DrainCommand(string name, string description, string path)
    {
        var command = new Command(name, description);
        command.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var body = await client.SendAsync(HttpMethod.Post, path, ct);
            var state = JsonSerializer.Deserialize(body, AdminJson.Default.AdminDrainState)!;
            Console.WriteLine(json ? body : state.Draining ? $"draining: new messages are refused (availability {state.Availability})" : $"accepting new messages (availability {state.Availability})");
            return 0;
        }));
        return command;
    }

    private static Command Reload()
    {
        var command = new Command("reload", "Read the relay's configuration file again and apply what can change live (as SIGHUP does); exits 1 when the file has problems.");
        command.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var body = await client.SendAsync(HttpMethod.Post, "admin/reload", ct);
            var reload = JsonSerializer.Deserialize(body, AdminJson.Default.AdminReload)!;
            if (json)
            {
                Console.WriteLine(body);
            }
            else
            {
                Console.WriteLine(reload.Problems.Length > 0 ? "not applied; the configuration has problems:"
                    : reload.Applied.Length > 0 ? "applied: " + string.Join(", ", reload.Applied)
                    : "nothing that applies live changed");
                foreach (var problem in reload.Problems)
                {
                    Console.WriteLine("  - " + problem);
                }

                if (reload.NeedRestart.Length > 0)
                {
                    Console.WriteLine("changed, applies at the next start: " + string.Join(", ", reload.NeedRestart));
                }
            }

            return reload.Problems.Length > 0 ? 1 : 0;
        }));
        return command;
    }
}
