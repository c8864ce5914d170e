using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeRelay.LoadTest.Flood;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>flood</c>: abuse floods against a relay with its default limits, measured by what an honest bystander
/// sees: its SEND latency and throughput before and during each flood, the relay's CPU, and the refusals.
/// </summary>
internal static class FloodCommand
{
    /// <summary>Exit code when the bystander saw any error: a flood reached an honest client.</summary>
    public const int BystanderErrorExitCode = LoadTestCommandLine.ErrorRateExitCode;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Build()
    {
        var d = new FloodSettings();
        var kind = new Option<string>("--kind")
        {
            Description = $"The flood: {string.Join(", ", FloodSettings.Kinds)}, or {FloodSettings.All} for each in turn with a fresh before/during pair. Default: {d.Kind}.",
            DefaultValueFactory = _ => d.Kind,
            HelpName = string.Join('|', [.. FloodSettings.Kinds, FloodSettings.All]),
        };
        kind.AcceptOnlyFromAmong([.. FloodSettings.Kinds, FloodSettings.All]);
        var phase = SharedOptions.DurationOption("--phase", "Length of each phase, the bystander alone and then beside the flood (1s..10m).", d.Phase);
        var payload = Int("--payload", "The bystander's ciphertext bytes per SEND (16..16384).", d.PayloadBytes);
        var floodConnections = Int("--flood-connections", "Connections, or parallel openers, per flood (1..32).", d.FloodConnections);
        var maxHeld = Int("--max-held", "Connections the connections flood holds at most (1..20000).", d.MaxHeld);
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON to this file. Default: none.", HelpName = "FILE" };
        var command = new Command("flood", "Start one relay in its own process on loopback with its default abuse limits, and one bystander: a connection SENDing 1 KiB back to back to an address it derived before. For each --kind, --phase with the bystander alone, then --phase with the flood beside it: 'connections' opens connections as fast as they are answered and holds the accepted ones (CONNECTION_LIMIT), 'fresh-addresses' SENDs to random addresses (ADDRESS_INVALID, RATE_LIMITED), 'auth' repeats AUTH frames of 256 claims with a bad last signature (BAD_SIGNATURE, VERIFY_RATE_LIMITED), 'huge-frames' announces 2 GiB bodies (FRAME_TOO_LARGE, closed). Reports the bystander's throughput and p50/p99/max before and during, their ratio, the relay's CPU per phase and the flood's attempts and refusals by code. Exit codes: 0 the bystander saw no error; 1 invalid usage; 2 failed to start; 3 the bystander saw an error.")
        {
            kind, phase, payload, floodConnections, maxHeld, json,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new FloodSettings
            {
                Kind = result.GetValue(kind) ?? d.Kind,
                Phase = result.GetValue(phase) ?? d.Phase,
                PayloadBytes = result.GetValue(payload),
                FloodConnections = result.GetValue(floodConnections),
                MaxHeld = result.GetValue(maxHeld),
                JsonPath = result.GetValue(json),
            };
            if (await LoadTestCommandLine.RefuseInvalidAsync(settings.Validate()))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            IReadOnlyList<KindResult> results;
            try
            {
                results = await FloodRun.RunAsync(settings, Console.WriteLine, cancellationToken);
            }
            catch (LoadTestException ex)
            {
                await Console.Error.WriteLineAsync("error: " + ex.Message);
                return LoadTestCommandLine.FailedExitCode;
            }

            foreach (var line in FloodReport.Table(results))
            {
                Console.WriteLine(line);
            }

            if (settings.JsonPath is { } path)
            {
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(FloodReport.Document(settings, results), Indented), cancellationToken);
            }

            var hit = results.Where(r => r.BystanderErrors).ToList();
            foreach (var r in hit)
            {
                await Console.Error.WriteLineAsync($"error: the bystander saw errors in {r.Kind}: before {FloodReport.Describe(r.Before.Bystander.Errors)}, during {FloodReport.Describe(r.During.Bystander.Errors)}");
            }

            return hit.Count == 0 ? 0 : BystanderErrorExitCode;
        });
        return command;
    }

    private static Option<int> Int(string name, string description, int value) =>
        new(name) { Description = $"{description} Default: {value.ToString(CultureInfo.InvariantCulture)}.", DefaultValueFactory = _ => value, HelpName = "N" };
}
