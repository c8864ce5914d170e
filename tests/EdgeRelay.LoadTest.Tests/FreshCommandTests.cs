using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Engine;
using EdgeRelay.Protocol;

namespace EdgeRelay.LoadTest.Tests;

/// <summary>
/// <c>fresh</c>: a short real run against the relay in its own process, and its settings' ranges. The figures
/// are not checked (they are the machine's); what is checked is that every SEND was stored, in both phases,
/// and that the fresh one cost the relay one open per SEND, charged to the peer class.
/// </summary>
[Collection(RealRunsCollection.Name)]
public sealed class FreshCommandTests
{
    [Fact]
    public async Task A_short_run_stores_every_send_and_the_fresh_ones_are_peer_misses()
    {
        var log = new List<string>();
        var settings = new FreshRunSettings { Addresses = 20, Connections = 2, Sends = 600, InFlight = 64, PayloadBytes = 64 };

        var results = await FreshAddressRun.RunAsync(settings, log.Add, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(["cached", "fresh"], results.Select(r => r.Phase));
        foreach (var phase in results)
        {
            Assert.Equal((600, 600), (phase.Sent, phase.Stored));
            Assert.Empty(phase.Refused);
            Assert.True(phase.SendsPerSecond > 0);
        }

        // 20 cached addresses primed, then 600 fresh ones: every miss a peer's, none refused.
        Assert.Contains("edgerelay_resolve_misses_total{class=\"peer\"} 620", log);
        Assert.Contains("edgerelay_resolve_misses_total{class=\"anonymous\"} 0", log);
        Assert.Contains("edgerelay_resolve_misses_refused_total{class=\"peer\",budget=\"connection\"} 0", log);
    }

    [Fact]
    public void A_phase_with_more_refusals_than_the_error_budget_fails_the_command()
    {
        var none = new Dictionary<ErrorCode, int>();
        var clean = new FreshPhaseResult("cached", 1000, 1000, none, TimeSpan.FromSeconds(1), null);
        var within = new FreshPhaseResult("fresh", 1000, 990, new Dictionary<ErrorCode, int> { [ErrorCode.RateLimited] = 10 }, TimeSpan.FromSeconds(1), null);
        var over = within with { Stored = 989 };

        Assert.Empty(FreshCommand.OverErrorBudget([clean, within], 0.01));
        Assert.Equal([over], FreshCommand.OverErrorBudget([clean, over], 0.01));
        Assert.Empty(FreshCommand.OverErrorBudget([over], 0.5));
    }

    [Fact]
    public async Task An_error_budget_out_of_range_is_a_usage_error()
    {
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(["fresh", "--max-error-rate", "1.5"]));
    }

    [Fact]
    public void Settings_out_of_range_are_each_named()
    {
        var problems = new FreshRunSettings { Addresses = 0, Connections = 257, Sends = 0, InFlight = 1025, PayloadBytes = 0 }.Validate();

        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("--addresses", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("--in-flight", StringComparison.Ordinal));
        Assert.Empty(new FreshRunSettings().Validate());
    }
}
