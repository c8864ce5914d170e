using System.Xml.Linq;
using EdgeRelay.Client;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary><c>edgerelay</c>'s verbs, help, version and refusals, run as an operator runs them.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Verbs => new(["", "serve", "check-config", "cert", "cert dev", "healthcheck", "tokens", "tokens create", "tokens list", "tokens revoke"]);

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Every_verb_answers_help_with_its_usage(string verb)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync([.. Split(verb), flag]);

            Assert.True(code == 0, stderr);
            Assert.Contains(("Usage:\n  edgerelay " + verb).TrimEnd(), stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
            Assert.Contains("--version", stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Every_verb_answers_version_with_the_version_of_the_build_props(string verb)
    {
        var declared = XDocument.Load(ContainerTests.RepositoryFile("Directory.Build.props")).Descendants("Version").Single().Value;

        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync([.. Split(verb), "--version"]);

        Assert.True(code == 0, stderr);
        Assert.Equal(declared, stdout.Trim());
        Assert.Equal(declared, Metrics.RelayMetrics.Version); // the edgerelay_build_info label says the same
    }

    [Fact]
    public async Task The_help_lists_every_exit_code()
    {
        var (_, stdout, _) = await ServerProcess.RunWithOutputAsync("--help");

        foreach (var line in new[] { "0  ok", "1  unexpected failure", "2  usage or configuration error", "3  the storage refused", "4  the data folder is in use", "5  a listening port is in use", "6  the relay could not be reached", "7  authorisation refused", "8  the storage failed while the relay ran" })
        {
            Assert.Contains(line, stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--frobnicate")]
    [InlineData("frobnicate")]
    [InlineData("serve", "--frobnicate")]
    [InlineData("check-config", "--relay-endpoint", "x")]
    [InlineData("check-config", "extra")]
    [InlineData("cert")]
    [InlineData("cert", "dev", "--bogus")]
    [InlineData("cert", "dev", "--days", "0")]
    [InlineData("cert", "dev", "--Relay:Endpoint=127.0.0.1:0")] // a configuration key where no configuration is read
    [InlineData("healthcheck", "extra")]
    [InlineData("tokens", "list", "extra")]
    [InlineData("check-config", "--Relay:Endpoint")] // a configuration key without its value
    public async Task Unknown_verbs_flags_and_arguments_are_refused_in_one_line_with_exit_2(params string[] args)
    {
        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync(args);

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("edgerelay", line, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task Configuration_keys_are_taken_with_an_equals_sign_or_as_two_arguments()
    {
        var (code, _, stderr) = await ServerProcess.RunWithOutputAsync("check-config", "--Relay:Endpoint", "127.0.0.1:0", "--Http:Endpoint=127.0.0.1:0");
        Assert.True(code == 0, stderr);

        (code, _, stderr) = await ServerProcess.RunWithOutputAsync("check-config", "--Relay:Endpoint", "nowhere");
        Assert.Equal(2, code);
        Assert.Contains("Relay:Endpoint", stderr, StringComparison.Ordinal);

        // Keys may come before the verb, as the container's EDGERELAY_ variables would not.
        (code, _, stderr) = await ServerProcess.RunWithOutputAsync("--Relay:Endpoint=nowhere", "check-config");
        Assert.Equal(2, code);
        Assert.Contains("Relay:Endpoint", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_of_a_missing_file_exits_2_naming_it()
    {
        var missing = Path.Combine(_temp.Path, "absent.json");

        var (code, _, stderr) = await ServerProcess.RunWithOutputAsync("check-config", "--config", missing);

        Assert.Equal(2, code);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_runs_the_relay_as_no_verb_does_and_exits_0_on_sigterm()
    {
        await using var server = await ServerProcess.StartAsync(_temp.Path, "serve", "--config", Path.Combine(AppContext.BaseDirectory, "edgerelay.json"));
        await using (var client = await RelayClient.ConnectAsync(server.RelayEndPoint))
        {
            await client.PingAsync();
        }

        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Healthcheck_exits_6_when_the_relay_cannot_be_reached()
    {
        var (code, _, stderr) = await ServerProcess.RunWithOutputAsync("healthcheck", "--Http:Endpoint=127.0.0.1:1");

        Assert.Equal(6, code);
        Assert.Contains("127.0.0.1:1", stderr, StringComparison.Ordinal);
    }

    private static string[] Split(string verb) => verb.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
