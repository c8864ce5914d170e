namespace EdgeRelay.Server.Tests;

/// <summary>The options of the resolution pool and its budgets: each range, named when out of it, at start-up and by check-config.</summary>
public sealed class ResolutionOptionsTests
{
    [Theory]
    [InlineData("PeerResolveMissesPerSecond", 0, false)]
    [InlineData("PeerResolveMissesPerSecond", 1, true)]
    [InlineData("PeerResolveMissesPerSecond", 10_000_000, true)]
    [InlineData("PeerResolveMissesPerSecond", 10_000_001, false)]
    [InlineData("PeerResolveMissBurst", 0, false)]
    [InlineData("PeerResolveMissBurst", 10_000_000, true)]
    [InlineData("AnonymousResolveMissesPerSecond", 0, false)]
    [InlineData("AnonymousResolveMissesPerSecond", 1, true)]
    [InlineData("AnonymousResolveMissBurst", 0, false)]
    [InlineData("AnonymousResolveMissBurst", 10_000_001, false)]
    [InlineData("ResolveWorkers", -1, false)]
    [InlineData("ResolveWorkers", 0, true)] // one per core
    [InlineData("ResolveWorkers", 1024, true)]
    [InlineData("ResolveWorkers", 1025, false)]
    [InlineData("ResolveQueueCapacity", 0, false)]
    [InlineData("ResolveQueueCapacity", 1, true)]
    [InlineData("ResolveQueueCapacity", 1_000_001, false)]
    public void Each_resolution_option_is_checked_and_named(string option, int value, bool valid)
    {
        var options = new EdgeRelayOptions();
        typeof(RelayEndpointOptions).GetProperty(option)!.SetValue(options.Relay, value);

        var problems = options.Validate();

        Assert.Equal(valid, !problems.Any(p => p.StartsWith("Relay:" + option + ":", StringComparison.Ordinal)));
        Assert.Equal(valid, problems.Count == 0);
    }

    [Fact]
    public async Task Check_config_names_a_bad_peer_budget()
    {
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--Relay:PeerResolveMissBurst=0", "--Relay:ResolveWorkers=-2");

        Assert.Equal(2, exitCode);
        Assert.Contains("Relay:PeerResolveMissBurst: 0 is out of range", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:ResolveWorkers: -2 is out of range", stderr, StringComparison.Ordinal);
    }
}
