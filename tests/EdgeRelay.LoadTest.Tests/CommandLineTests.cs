using EdgeRelay.LoadTest.Cli;

namespace EdgeRelay.LoadTest.Tests;

public class CommandLineTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("20s", 20_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7", 7_000)] // a bare number is seconds
    public void Durations_parse_as_operators_type_them(string text, int milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1s")]
    [InlineData("10 parsecs")]
    [InlineData("1e400s")]
    public void Nonsense_durations_are_refused(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Fact]
    public void Defaults_are_valid_and_every_bad_value_is_named()
    {
        Assert.Empty(new RunSettings().Validate());

        var problems = new RunSettings
        {
            Target = "redis",
            Connections = 0,
            PayloadBytes = 0,
            InFlight = 0,
            Addresses = 0,
            Duration = TimeSpan.FromHours(2),
            Warmup = TimeSpan.FromSeconds(-1),
            Rate = 0,
            Endpoint = "nohost",
        }.Validate();

        foreach (var option in new[] { "--target", "--connections", "--payload", "--in-flight", "--addresses", "--duration", "--warmup", "--rate", "--endpoint" })
        {
            Assert.Contains(problems, p => p.StartsWith(option + ":", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("run", "--connections", "0")]
    [InlineData("run", "--duration", "2h")]
    [InlineData("run", "--duration", "soon")]
    [InlineData("run", "--target", "redis")]
    public async Task Invalid_usage_exits_with_1_before_starting_anything(params string[] args)
    {
        Assert.Equal(1, await LoadTestCommandLine.InvokeAsync(args));
    }

    [Fact]
    public async Task A_remote_endpoint_needs_allow_remote()
    {
        var error = await Assert.ThrowsAsync<LoadTestException>(() => Targets.Endpoints.ResolveAsync("192.0.2.1:7400", allowRemote: false, CancellationToken.None));
        Assert.Contains("--allow-remote", error.Message, StringComparison.Ordinal);
        var allowed = await Targets.Endpoints.ResolveAsync("192.0.2.1:7400", allowRemote: true, CancellationToken.None);
        Assert.Equal(7400, allowed.Port);
    }
}
