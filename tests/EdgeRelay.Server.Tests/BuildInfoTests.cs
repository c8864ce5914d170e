using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace EdgeRelay.Server.Tests;

/// <summary><c>edgerelay_build_info</c> as scraped, carrying the version set once in Directory.Build.props.</summary>
public sealed class BuildInfoTests
{
    [Fact]
    public async Task The_build_info_gauge_names_the_version_from_the_build_props_and_the_runtime()
    {
        var declared = XDocument.Load(ContainerTests.RepositoryFile("Directory.Build.props")).Descendants("Version").Single().Value;
        await using var relay = await TestRelay.StartAsync();

        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://{relay.Host.HttpEndPoint}/metrics");

        Assert.Contains("# TYPE edgerelay_build_info gauge", text, StringComparison.Ordinal);
        var series = Assert.Single(text.Split('\n'), line => line.StartsWith("edgerelay_build_info{", StringComparison.Ordinal));
        Assert.Contains($"version=\"{declared}\"", series, StringComparison.Ordinal);
        Assert.Contains($"runtime=\"{RuntimeInformation.FrameworkDescription}\"", series, StringComparison.Ordinal);
        Assert.EndsWith("} 1", series.TrimEnd(), StringComparison.Ordinal);
    }
}
