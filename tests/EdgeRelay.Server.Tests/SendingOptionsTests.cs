using EdgeRelay.Protocol;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>The Sending section's batched delay: its default, the options it makes a relay offer, and each bad value named by the relay and by <c>edgerelay check-config</c>.</summary>
public sealed class SendingOptionsTests
{
    [Fact]
    public void By_default_the_batched_mode_is_offered_with_thirty_seconds()
    {
        var options = new EdgeRelayOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), options.Sending.BatchedDelay);
        Assert.Empty(options.Validate());
        Assert.Equal([new SendingOption(SendingMode.Immediate, 0), new SendingOption(SendingMode.Batched, 30_000)], options.Sending.Offered());
    }

    [Theory]
    [InlineData(SendingMode.Immediate, 30_000, true, 0)]
    [InlineData(SendingMode.Batched, 30_000, true, 30_000)]
    [InlineData(SendingMode.Batched, 0, false, 0)] // turned off
    [InlineData((SendingMode)0, 30_000, false, 0)] // not a mode
    [InlineData((SendingMode)3, 30_000, false, 0)] // a mode this relay does not know
    public void A_mode_is_accepted_only_while_offered_and_gives_its_batch_interval(SendingMode mode, int delayMs, bool offered, long intervalMs)
    {
        var sending = new SendingOptions { BatchedDelay = TimeSpan.FromMilliseconds(delayMs) };

        Assert.Equal(offered, sending.TryGetBatchInterval(mode, out var interval));
        Assert.Equal(intervalMs, offered ? interval : 0);
        Assert.Equal(offered, sending.Offered().Any(o => o.Mode == mode));
    }

    [Theory]
    [InlineData("00:00:00")] // off
    [InlineData("00:00:01")]
    [InlineData("01:00:00")]
    [InlineData("00:00:02.500")]
    public void Zero_and_one_second_to_one_hour_in_milliseconds_are_valid(string delay)
    {
        var options = new EdgeRelayOptions { Sending = { BatchedDelay = TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) } };

        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("00:00:00.999")] // under a second
    [InlineData("01:00:00.001")] // over an hour
    [InlineData("-00:00:01")]
    [InlineData("00:00:01.0000001")] // not a whole number of milliseconds
    public void A_bad_batched_delay_is_named(string delay)
    {
        var options = new EdgeRelayOptions { Sending = { BatchedDelay = TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) } };

        Assert.StartsWith("Sending:BatchedDelay:", Assert.Single(options.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_batched_delay_not_shorter_than_the_maximum_age_is_refused()
    {
        var options = new EdgeRelayOptions { Sending = { BatchedDelay = TimeSpan.FromMinutes(10) }, Forwarding = { MaxAge = TimeSpan.FromMinutes(10) } };

        var problem = Assert.Single(options.Validate());

        Assert.StartsWith("Sending:BatchedDelay:", problem, StringComparison.Ordinal);
        Assert.Contains("Forwarding:MaxAge", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_names_a_bad_batched_delay()
    {
        using var temp = new TempDirectory();
        var file = Path.Combine(temp.Path, "bad.json");
        await File.WriteAllTextAsync(file, """{ "Sending": { "BatchedDelay": "02:00:00" } }""");

        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("1 problem(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("Sending:BatchedDelay: 02:00:00 must be 0 (no batched mode) or between 00:00:01 and 01:00:00", stderr, StringComparison.Ordinal);
    }
}
