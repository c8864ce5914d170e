using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>The Attachments section: its defaults are valid, and each bad value is named by the relay and by <c>edgerelay check-config</c>.</summary>
public sealed class AttachmentOptionsTests
{
    [Fact]
    public void The_defaults_are_the_documented_ones_and_valid()
    {
        var options = new EdgeRelayOptions();

        Assert.Equal(100L << 20, options.Attachments.MaxBytes);
        Assert.Equal(TimeSpan.FromHours(48), options.Attachments.Expiry);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("MaxBytes", "0", "Attachments:MaxBytes")]
    [InlineData("MaxDiskBytes", "1000", "Attachments:MaxDiskBytes")] // below MaxBytes: no attachment would ever fit
    [InlineData("Expiry", "00:00:10", "Attachments:Expiry")]
    [InlineData("UploadTimeout", "31.00:00:00", "Attachments:UploadTimeout")]
    [InlineData("SweepInterval", "2.00:00:00", "Attachments:SweepInterval")]
    [InlineData("PublicBaseUrl", "ftp://files.example.org", "Attachments:PublicBaseUrl")]
    [InlineData("PublicBaseUrl", "https://user:secret@files.example.org", "Attachments:PublicBaseUrl")]
    [InlineData("PublicBaseUrl", "https://files.example.org/?x=1", "Attachments:PublicBaseUrl")]
    [InlineData("PublicBaseUrl", "/relative", "Attachments:PublicBaseUrl")]
    public void A_bad_value_is_named(string option, string value, string named)
    {
        var options = new EdgeRelayOptions();
        var property = typeof(AttachmentOptions).GetProperty(option)!;
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        property.SetValue(options.Attachments, System.ComponentModel.TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value));

        var problem = Assert.Single(options.Validate());

        Assert.StartsWith(named + ":", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void No_budget_is_allowed()
    {
        var options = new EdgeRelayOptions { Attachments = { MaxDiskBytes = 0 } };

        Assert.Empty(options.Validate());
    }

    [Fact]
    public async Task Check_config_names_the_attachment_options_of_a_bad_file()
    {
        using var temp = new TempDirectory();
        var file = Path.Combine(temp.Path, "bad.json");
        await File.WriteAllTextAsync(file, """
            { "Attachments": { "MaxBytes": 2000, "MaxDiskBytes": 1000, "PublicBaseUrl": "files.example.org", "Expiry": "later", "MaxBites": 1 } }
            """);

        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("4 problem(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("Attachments:MaxDiskBytes", stderr, StringComparison.Ordinal);
        Assert.Contains("Attachments:PublicBaseUrl", stderr, StringComparison.Ordinal);
        Assert.Contains("Attachments:Expiry: 'later' is not a duration", stderr, StringComparison.Ordinal);
        Assert.Contains("Attachments:MaxBites: unknown option", stderr, StringComparison.Ordinal);
    }
}
