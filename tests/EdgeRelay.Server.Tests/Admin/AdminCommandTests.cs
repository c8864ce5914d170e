using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EdgeRelay.Server.Admin;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary><c>edgerelay admin</c> against a real relay process: its output and the exit codes scripts rely on.</summary>
public sealed class AdminCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private ServerProcess _relay = null!;
    private string _tokenFile = null!;

    public async Task InitializeAsync()
    {
        _tokenFile = Path.Combine(_temp.Path, "admin.token");
        await File.WriteAllTextAsync(_tokenFile, AdminAuthenticationTests.Token + "\n");
        _relay = await ServerProcess.StartAsync(Path.Combine(_temp.Path, "data"), "--Admin:TokenFile=" + _tokenFile);
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Stats_drain_accept_reload_and_listing_work_with_the_token_file_and_exit_0()
    {
        var http = _relay.HttpEndPoint.ToString();

        var (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--http", http, "--token-file", _tokenFile);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("availability", stdout, StringComparison.Ordinal);
        Assert.Contains("queue depth", stdout, StringComparison.Ordinal);

        (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--json", "--http", http, "--token-file", _tokenFile);
        Assert.True(exitCode == 0, stderr);
        Assert.Equal("accepting", JsonSerializer.Deserialize(stdout, AdminJson.Default.AdminStats)!.Availability);

        var environment = new Dictionary<string, string> { ["EDGERELAY_ADMIN_TOKEN"] = AdminAuthenticationTests.Token };
        (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync(environment, "admin", "drain", "--http", http);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("draining", stdout, StringComparison.Ordinal);
        (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync(environment, "admin", "accept", "--http", http);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("accepting", stdout, StringComparison.Ordinal);

        (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync(environment, "admin", "addresses", "--http", http);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("end of the listing", stdout, StringComparison.Ordinal);

        // The executable hands its configuration reloader to the relay: the shipped file reloads with nothing to apply.
        (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync(environment, "admin", "reload", "--http", http);
        Assert.True(exitCode == 0, stderr + stdout);
        Assert.Contains("nothing that applies live changed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_or_missing_token_exits_7()
    {
        var wrong = Path.Combine(_temp.Path, "wrong.token");
        await File.WriteAllTextAsync(wrong, "not-the-admin-token-at-all");

        var (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--http", _relay.HttpEndPoint.ToString(), "--token-file", wrong);
        Assert.Equal(7, exitCode);
        Assert.Contains("refused the admin token", stderr, StringComparison.Ordinal);

        // No token anywhere: the shipped configuration beside the binary sets none.
        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--http", _relay.HttpEndPoint.ToString());
        Assert.Equal(7, exitCode);
        Assert.Contains("no admin token", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_relay_or_one_without_the_admin_api_exits_6()
    {
        var (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--http", $"127.0.0.1:{ClosedPort()}", "--token-file", _tokenFile);
        Assert.Equal(6, exitCode);
        Assert.Contains("cannot reach the relay", stderr, StringComparison.Ordinal);

        await using var plain = await TestRelay.StartAsync();
        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "stats", "--http", plain.Host.HttpEndPoint.ToString(), "--token-file", _tokenFile);
        Assert.Equal(6, exitCode);
        Assert.Contains("admin API is off", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_without_yes_exits_2_and_an_unknown_address_exits_1()
    {
        var aid = AddressId.NewRandom().ToString();

        var (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "purge", aid, "--http", _relay.HttpEndPoint.ToString(), "--token-file", _tokenFile);
        Assert.Equal(2, exitCode);
        Assert.Contains("--yes", stderr, StringComparison.Ordinal);

        (exitCode, _, stderr) = await ServerProcess.RunWithOutputAsync("admin", "purge", aid, "--yes", "--http", _relay.HttpEndPoint.ToString(), "--token-file", _tokenFile);
        Assert.Equal(1, exitCode);
        Assert.Contains("unknown_address", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_admin_verb()
    {
        var (exitCode, stdout, stderr) = await ServerProcess.RunWithOutputAsync("admin", "--help");

        Assert.True(exitCode == 0, stderr);
        foreach (var verb in new[] { "stats", "addresses", "inspect", "revoke", "purge", "drain", "accept", "reload" })
        {
            Assert.Contains(verb, stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("stats", "--bogus")]
    [InlineData("inspect")]
    [InlineData("frobnicate")]
    public async Task A_usage_error_exits_2(params string[] args)
    {
        var (exitCode, _, _) = await ServerProcess.RunWithOutputAsync(["admin", .. args]);

        Assert.Equal(2, exitCode);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
