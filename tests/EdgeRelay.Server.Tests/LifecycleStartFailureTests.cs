using System.Net;
using System.Net.Sockets;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>A relay that cannot start says why in one line and exits with the code for that reason.</summary>
public sealed class LifecycleStartFailureTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_second_relay_on_the_same_data_folder_exits_4_naming_the_pid_that_holds_it()
    {
        await using var first = await ServerProcess.StartAsync(_temp.Path);

        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync(
            "--Relay:Endpoint=127.0.0.1:0", "--Http:Endpoint=127.0.0.1:0", "--Storage:DataDir=" + _temp.Path);

        Assert.Equal(4, code);
        var line = OneLine(stderr, stdout);
        Assert.Contains($"(pid {first.Id})", line, StringComparison.Ordinal);
        Assert.Contains(_temp.Path, line, StringComparison.Ordinal);

        // The first relay is untouched and still holds its folder.
        Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task A_relay_port_in_use_exits_5_naming_the_option_the_endpoint_and_the_binary_protocol()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var endPoint = (IPEndPoint)taken.LocalEndpoint;

        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync(
            "--Relay:Endpoint=" + endPoint, "--Http:Endpoint=127.0.0.1:0", "--Storage:DataDir=" + _temp.Path);

        Assert.Equal(5, code);
        var line = OneLine(stderr, stdout);
        Assert.Contains($"Relay:Endpoint {endPoint} (the relay's binary protocol over TCP)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_http_port_in_use_exits_5_naming_the_option_and_the_http_endpoint()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var endPoint = (IPEndPoint)taken.LocalEndpoint;

        var (code, stdout, stderr) = await ServerProcess.RunWithOutputAsync(
            "--Relay:Endpoint=127.0.0.1:0", "--Http:Endpoint", endPoint.ToString(), "--Storage:DataDir=" + _temp.Path);

        Assert.Equal(5, code);
        Assert.Contains($"Http:Endpoint http://{endPoint} (HTTP", OneLine(stderr, stdout), StringComparison.Ordinal);
    }

    /// <summary>The single line on standard error; no stack trace there or among the log lines.</summary>
    private static string OneLine(string stderr, string stdout)
    {
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("EdgeRelay cannot start: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stdout, StringComparison.Ordinal);
        return line;
    }
}
