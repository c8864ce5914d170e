using System.CommandLine;
using System.Globalization;
using EdgeRelay.LoadTest.Engine;

namespace EdgeRelay.LoadTest.Cli;

/// <summary>
/// <c>fresh</c>: SENDs whose ephemeral addresses are all new to the relay (a sending service's traffic, each a
/// cache miss and one HPKE open) from peer-token connections, against the same run's cached-address baseline.
/// </summary>
internal static class FreshCommand
{
    public static Command Build()
    {
        var defaults = new FreshRunSettings();
        var addresses = new Option<int>("--addresses") { Description = $"Long-term addresses the SENDs go to. Default {defaults.Addresses}.", DefaultValueFactory = _ => defaults.Addresses };
        var connections = new Option<int>("--connections") { Description = $"Connections, each authenticated with a peer token. Default {defaults.Connections}.", DefaultValueFactory = _ => defaults.Connections };
        var sends = new Option<int>("--sends") { Description = $"SENDs per phase (cached, then fresh), over all connections. Default {defaults.Sends}.", DefaultValueFactory = _ => defaults.Sends };
        var inFlight = new Option<int>("--in-flight") { Description = $"Unanswered SENDs per connection at most. Default {defaults.InFlight}.", DefaultValueFactory = _ => defaults.InFlight };
        var payload = new Option<int>("--payload") { Description = $"Ciphertext bytes per SEND. Default {defaults.PayloadBytes}.", DefaultValueFactory = _ => defaults.PayloadBytes };
        var maxErrorRate = new Option<double>("--max-error-rate")
        {
            Description = $"Largest share, 0..1, of a phase's SENDs the relay may refuse before the command exits with {LoadTestCommandLine.ErrorRateExitCode}: a phase of refusals measures the refusal, not the resolution. Default {RunSettings.DefaultMaxErrorRate.ToString(CultureInfo.InvariantCulture)}.",
            DefaultValueFactory = _ => RunSettings.DefaultMaxErrorRate,
            HelpName = "F",
        };
        var fresh = new Command("fresh", "Start the relay in its own process; send --sends SENDs to cached ephemeral addresses (the baseline), then --sends SENDs each to an address the relay has never seen (every one an HPKE open), from peer-token connections; print SENDs/s and the relay's CPU for each.")
        {
            addresses, connections, sends, inFlight, payload, maxErrorRate,
        };
        fresh.SetAction(async (result, cancellationToken) =>
        {
            var settings = new FreshRunSettings
            {
                Addresses = result.GetValue(addresses),
                Connections = result.GetValue(connections),
                Sends = result.GetValue(sends),
                InFlight = result.GetValue(inFlight),
                PayloadBytes = result.GetValue(payload),
            };
            double maxRefused = result.GetValue(maxErrorRate);
            var problems = settings.Validate().ToList();
            if (!double.IsFinite(maxRefused) || maxRefused < 0 || maxRefused > 1)
            {
                problems.Add($"--max-error-rate: {maxRefused.ToString(CultureInfo.InvariantCulture)} is out of range [0, 1] (the share of a phase's SENDs that may be refused).");
            }

            if (await LoadTestCommandLine.RefuseInvalidAsync(problems))
            {
                return LoadTestCommandLine.UsageExitCode;
            }

            var c = CultureInfo.InvariantCulture;
            var results = await FreshAddressRun.RunAsync(settings, Console.WriteLine, cancellationToken);
            Console.WriteLine(string.Create(c, $"| phase | SENDs | stored | refused | seconds | SENDs/s | relay CPU s | relay cores |"));
            Console.WriteLine("|---|---:|---:|---|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                var refused = r.Refused.Count == 0 ? "none" : string.Join(", ", r.Refused.Select(kv => string.Create(c, $"{kv.Key} {kv.Value}")));
                Console.WriteLine(string.Create(c, $"| {r.Phase} | {r.Sent} | {r.Stored} | {refused} | {r.Elapsed.TotalSeconds:F2} | {r.SendsPerSecond:F0} | {r.RelayCpu?.TotalSeconds:F2} | {r.RelayCores:F2} |"));
            }

            // The same budget as run's: a phase whose SENDs were mostly refused (QUOTA_ADDRESS, RATE_LIMITED) did not
            // measure what its row claims, and a script must not read it as a rate.
            var over = OverErrorBudget(results, maxRefused);
            foreach (var r in over)
            {
                await Console.Error.WriteLineAsync(string.Create(c, $"{r.Phase}: {r.Sent - r.Stored} of {r.Sent} SENDs were not stored, above --max-error-rate {maxRefused * 100:0.##}%"));
            }

            return over.Count > 0 ? LoadTestCommandLine.ErrorRateExitCode : 0;
        });
        return fresh;
    }

    /// <summary>The phases that stored fewer than (1 - <paramref name="maxRefused"/>) of their SENDs.</summary>
    internal static IReadOnlyList<FreshPhaseResult> OverErrorBudget(IEnumerable<FreshPhaseResult> results, double maxRefused) =>
        results.Where(r => r.Sent > 0 && r.Sent - r.Stored > maxRefused * r.Sent).ToList();
}
