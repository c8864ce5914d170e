using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Executable.Commands;

/// <summary>
/// <c>edgerelay admin …</c>: operates a running relay through its admin API on the HTTP endpoint. Tables for
/// people by default, the relay's JSON with --json for scripts. Exit codes: 0 done, 1 the relay refused the
/// action, 2 usage, 6 the relay could not be reached or its admin API is off, 7 the token was refused or missing.
/// </summary>
internal static partial class AdminCommand
{
    private static readonly Option<string?> HttpOption = new("--http")
    {
        Description = "The relay's HTTP endpoint, host:port or an http URL. Default: Http:Endpoint of the configuration.",
        Recursive = true,
    };

    private static readonly Option<string?> TokenFileOption = new("--token-file")
    {
        Description = $"File holding the admin token. Default: ${AdminHttpClient.TokenVariable}, else the configuration's Admin:TokenFile / Admin:Token.",
        Recursive = true,
    };

    private static readonly Option<string?> ConfigOption = new("--config")
    {
        Description = "The relay's configuration file, for the defaults above. Default: as the relay finds it.",
        Recursive = true,
    };

    private static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print the relay's JSON answer instead of a table.",
        Recursive = true,
    };

    private static readonly Option<TimeSpan> TimeoutOption = new("--timeout")
    {
        Description = "How long to wait for the relay. Default 00:00:10.",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(10),
        Recursive = true,
    };

    internal static Command Create()
    {
        var admin = new Command("admin", "Operate a running relay through its admin API (needs Admin:Token on the relay).");
        admin.Options.Add(HttpOption);
        admin.Options.Add(TokenFileOption);
        admin.Options.Add(ConfigOption);
        admin.Options.Add(JsonOption);
        admin.Options.Add(TimeoutOption);
        admin.Subcommands.Add(Stats());
        admin.Subcommands.Add(Addresses());
        admin.Subcommands.Add(Inspect());
        admin.Subcommands.Add(Revoke());
        admin.Subcommands.Add(Purge());
        admin.Subcommands.Add(Drain());
        admin.Subcommands.Add(Accept());
        admin.Subcommands.Add(Reload());
        return admin;
    }

    private static Command Stats()
    {
        var stats = new Command("stats", "Version, uptime, availability, connections, queue depth and disk headroom.");
        stats.SetAction((result, ct) => RunAsync(result, async (client, json) =>
        {
            var body = await client.SendAsync(HttpMethod.Get, "admin/stats", ct);
            if (json)
            {
                Console.WriteLine(body);
                return 0;
            }

            var s = JsonSerializer.Deserialize(body, AdminJson.Default.AdminStats)!;
            WriteTable(
            [
                ("version", s.Version),
                ("uptime", Duration(TimeSpan.FromSeconds(s.UptimeSeconds))),
                ("availability", s.Reason.Length > 0 ? $"{s.Availability} ({s.Reason})" : s.Availability),
                ("draining", s.Draining ? "yes" : "no"),
                ("roles", string.Join(", ", s.Roles)),
                ("connections", Number(s.Connections)),
                ("addresses", Number(s.Addresses)),
                ("queue depth", $"{Number(s.QueueDepth)} messages, {Bytes(s.PendingBytes)}"),
                ("outbound", $"{Number(s.OutboundMessages)} messages, {Bytes(s.OutboundBytes)}"),
                ("log", Bytes(s.LogBytes)),
                ("disk headroom", s.DiskHeadroomBytes is { } headroom ? $"{Bytes(headroom)} of {Bytes(s.DiskBudgetBytes!.Value)}" : "no budget"),
                ("filesystem free", s.FilesystemFreeBytes is { } free ? Bytes(free) : "-"),
            ]);
            return 0;
        }));
        return stats;
    }

    /// <summary>Builds the client from the shared options, runs one action, and maps its failure to an exit code.</summary>
    private static async Task<int> RunAsync(ParseResult result, Func<AdminHttpClient, bool, Task<int>> action)
    {
        try
        {
            using var client = AdminHttpClient.Create(result.GetValue(HttpOption), result.GetValue(TokenFileOption), result.GetValue(ConfigOption), result.GetValue(TimeoutOption));
            return await action(client, result.GetValue(JsonOption));
        }
        catch (AdminCommandException ex)
        {
            await Console.Error.WriteLineAsync("edgerelay admin: " + ex.Message);
            return ex.ExitCode;
        }
    }

    private static void WriteTable(IReadOnlyList<(string Name, string Value)> rows)
    {
        var width = rows.Max(r => r.Name.Length);
        foreach (var (name, value) in rows)
        {
            Console.WriteLine($"{name.PadRight(width)}  {value}");
        }
    }

    internal static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    internal static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    internal static string Duration(TimeSpan span) => span.TotalDays >= 1
        ? $"{(int)span.TotalDays}d {span.Hours}h {span.Minutes}m"
        : span.TotalHours >= 1 ? $"{span.Hours}h {span.Minutes}m {span.Seconds}s" : $"{span.Minutes}m {span.Seconds}s";
}
