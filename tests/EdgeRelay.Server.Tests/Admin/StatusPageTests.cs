using EdgeRelay.Client;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary>The status page at <c>/</c>: what a person checking on the relay needs, and nothing secret.</summary>
public sealed class StatusPageTests
{
    [Fact]
    public async Task The_page_shows_version_uptime_readiness_queue_depth_headroom_and_connections_and_no_token_or_address()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        await using var client = await relay.ConnectAsync();
        using var owner = new Owner();
        var address = await owner.CreateAddressAsync(client);
        await client.SendAsync(address.Card, new byte[] { 1, 2, 3 });
        using var http = new HttpClient();

        using var response = await http.GetAsync($"http://{relay.Host.HttpEndPoint}/");
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(Metrics.RelayMetrics.Version, page, StringComparison.Ordinal);
        Assert.Contains("<th>Uptime</th>", page, StringComparison.Ordinal);
        Assert.Contains("<th>Readiness</th><td>ready</td>", page, StringComparison.Ordinal);
        Assert.Contains("<th>Queue depth</th><td>1 messages, 3 bytes</td>", page, StringComparison.Ordinal);
        Assert.Contains("<th>Disk headroom</th>", page, StringComparison.Ordinal);
        Assert.Contains("<th>Connections</th><td>1</td>", page, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminAuthenticationTests.Token, page, StringComparison.Ordinal);
        Assert.DoesNotContain(address.Id.ToString(), page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(relay.DataDir, page, StringComparison.Ordinal);

        relay.Host.Server.IsDraining = true;
        Assert.Contains("<th>Readiness</th><td>draining (new messages refused)</td>", await http.GetStringAsync($"http://{relay.Host.HttpEndPoint}/"), StringComparison.Ordinal);
    }
}
