using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Forwarding;

/// <summary>Forwarding:PeerTokens is keyed by destination endpoint, "host:port": the colons must not cut the key.</summary>
public sealed class PeerTokenOptionsTests
{
    [Fact]
    public async Task Peer_tokens_keyed_by_host_and_port_are_read_from_the_file_and_the_command_line()
    {
        using var temp = new TempDirectory();
        var file = Path.Combine(temp.Path, "peers.json");
        await File.WriteAllTextAsync(file, """
            { "Forwarding": { "PeerTokens": { "relay-b.test:7400": "has spaces", "[2001:db8::1]:7400": "ert_fine" } } }
            """);

        // Each bad token is reported under its whole endpoint, so each was read as one entry; the good one is not reported.
        var (exitCode, stderr) = await ServerProcess.RunToExitAsync("check-config", "--config", file, "--Forwarding:PeerTokens:relay-c.test:7401=");

        Assert.Equal(2, exitCode);
        Assert.Contains("2 problem(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("Forwarding:PeerTokens:relay-b.test:7400: a token is", stderr, StringComparison.Ordinal);
        Assert.Contains("Forwarding:PeerTokens:relay-c.test:7401: a token is", stderr, StringComparison.Ordinal);
    }
}
