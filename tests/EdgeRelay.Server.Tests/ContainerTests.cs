using System.Text.RegularExpressions;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>
/// No Docker engine runs where the tests run, so the image is checked by reading its Dockerfile, and CI
/// runs the Dockerfile's own publish command (.ci/run); this test keeps the two from drifting apart.
/// </summary>
public sealed partial class ContainerTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    internal static string RepositoryFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, name);
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "EdgeRelay.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void The_compose_file_runs_this_image_with_a_prometheus_scraping_it()
    {
        var compose = File.ReadAllText(RepositoryFile("config/docker-compose.yml"));
        var prometheus = File.ReadAllText(RepositoryFile("config/prometheus.yml"));
        var dockerfile = File.ReadAllText(RepositoryFile("Dockerfile"));

        Assert.Contains("dockerfile: Dockerfile", compose, StringComparison.Ordinal);
        Assert.Contains("context: ..", compose, StringComparison.Ordinal);
        Assert.Contains("./prometheus.yml:/etc/prometheus/prometheus.yml", compose, StringComparison.Ordinal);
        Assert.Contains("relay-data:/data", compose, StringComparison.Ordinal);
        Assert.Contains("VOLUME /data", dockerfile, StringComparison.Ordinal);

        // Prometheus scrapes the relay service by its compose name on the HTTP port the image exposes.
        Assert.Contains("targets: [\"relay:7401\"]", prometheus, StringComparison.Ordinal);
        Assert.Contains("EDGERELAY_Http__Endpoint=0.0.0.0:7401", dockerfile, StringComparison.Ordinal);
        Assert.Contains("\"127.0.0.1:7401:7401\"", compose, StringComparison.Ordinal);
    }

    private static string Normalize(string command) => WhiteSpace().Replace(command.Trim(), " ");

    [Fact]
    public void The_dockerfile_builds_with_the_sdk_and_runs_unprivileged_on_the_aspnet_runtime()
    {
        var dockerfile = File.ReadAllText(RepositoryFile("Dockerfile"));
        var froms = Regex.Matches(dockerfile, @"^FROM\s+(\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, froms.Count);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", froms[0], StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", froms[1], StringComparison.Ordinal);

        // Instructions continued over several lines ("\" at the end) are read as one.
        var runtimeStage = Regex.Replace(dockerfile[dockerfile.LastIndexOf("FROM ", StringComparison.Ordinal)..], @"\\\r?\n\s*", " ");
        Assert.Matches(@"(?m)^USER\s+(?!root\b)\S+", runtimeStage);
        Assert.Matches(@"(?m)^VOLUME\s+/data\b", runtimeStage);
        Assert.Matches(@"(?m)^EXPOSE\s+7400\s+7401\b", runtimeStage);
        Assert.Contains("EDGERELAY_Storage__DataDir=/data", runtimeStage, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^HEALTHCHECK\b.*edgerelay\.dll"",\s*""healthcheck""", runtimeStage);
    }

    [Fact]
    public void CI_runs_the_same_publish_command_as_the_dockerfile()
    {
        var dockerfile = File.ReadAllText(RepositoryFile("Dockerfile"));
        var ci = File.ReadAllText(RepositoryFile(Path.Combine(".ci", "run")));
        var image = Regex.Match(dockerfile, @"(?m)^RUN\s+(dotnet publish .*?)\s+-o\s+\S+\s*$");
        var build = Regex.Match(ci, @"(?m)^\s*(dotnet publish .*?)\s+-o\s+\S+\s*$");
        Assert.True(image.Success, "the Dockerfile has no 'RUN dotnet publish ... -o DIR' line");
        Assert.True(build.Success, ".ci/run has no 'dotnet publish ... -o DIR' line");
        Assert.Equal(Normalize(image.Groups[1].Value), Normalize(build.Groups[1].Value));
    }

    [Fact]
    public void CI_restores_with_the_same_command_as_the_dockerfile()
    {
        var dockerfile = File.ReadAllText(RepositoryFile("Dockerfile"));
        var ci = File.ReadAllText(RepositoryFile(Path.Combine(".ci", "run")));
        var image = Regex.Match(dockerfile, @"(?m)^RUN\s+(dotnet restore .*?)\s*$");
        var build = Regex.Match(ci, @"(?m)^\s*(dotnet restore .*?)\s*$");
        Assert.True(image.Success, "the Dockerfile has no 'RUN dotnet restore ...' line");
        Assert.True(build.Success, ".ci/run has no 'dotnet restore ...' line");
        Assert.Equal(Normalize(image.Groups[1].Value), Normalize(build.Groups[1].Value));
    }

    [Fact]
    public async Task The_healthcheck_command_passes_against_a_running_relay_and_fails_without_one()
    {
        await using (var server = await ServerProcess.StartAsync(_temp.Path))
        {
            var (healthy, _) = await ServerProcess.RunToExitAsync("healthcheck", "--Http:Endpoint=" + server.HttpEndPoint);
            Assert.Equal(0, healthy);
        }

        var (down, stderr) = await ServerProcess.RunToExitAsync("healthcheck", "--Http:Endpoint=127.0.0.1:1");
        Assert.Equal(6, down); // the relay could not be reached
        Assert.Contains("127.0.0.1:1", stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
