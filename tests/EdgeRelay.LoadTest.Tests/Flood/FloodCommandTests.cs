using EdgeRelay.LoadTest.Cli;
using EdgeRelay.LoadTest.Flood;

namespace EdgeRelay.LoadTest.Tests.Flood;

/// <summary><c>flood</c>'s options: what parses, what is refused as a usage error before any relay starts.</summary>
public sealed class FloodCommandTests
{
    [Theory]
    [InlineData("flood --kind bogus")] // not a kind
    [InlineData("flood --phase 500ms")] // under a second: too few SENDs for a p99
    [InlineData("flood --phase 11m")]
    [InlineData("flood --phase ten")] // not a duration
    [InlineData("flood --payload 8")]
    [InlineData("flood --flood-connections 0")]
    [InlineData("flood --flood-connections 33")]
    [InlineData("flood --max-held 0")]
    public async Task Invalid_flood_settings_are_a_usage_error(string args) =>
        Assert.Equal(LoadTestCommandLine.UsageExitCode, await LoadTestCommandLine.InvokeAsync(args.Split(' ')));

    [Theory]
    [InlineData("flood")]
    [InlineData("flood --kind connections --phase 2s --max-held 100")]
    [InlineData("flood --kind fresh-addresses --flood-connections 8 --payload 16384")]
    [InlineData("flood --kind auth --json out.json")]
    [InlineData("flood --kind huge-frames --phase 10m")]
    public void Valid_flood_options_parse(string args) =>
        Assert.Empty(LoadTestCommandLine.Build().Parse(args.Split(' ')).Errors);

    [Fact]
    public void All_runs_every_kind_in_turn_and_one_kind_only_itself()
    {
        Assert.Equal(
            [FloodSettings.Connections, FloodSettings.FreshAddresses, FloodSettings.Auth, FloodSettings.HugeFrames],
            new FloodSettings { Kind = FloodSettings.All }.KindsToRun);
        Assert.Equal([FloodSettings.Auth], new FloodSettings { Kind = FloodSettings.Auth }.KindsToRun);
        Assert.Empty(new FloodSettings().Validate());
    }
}
