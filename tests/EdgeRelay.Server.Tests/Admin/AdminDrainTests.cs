using System.Net;
using System.Text.Json;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Admin;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary>A drained relay refuses new messages with DRAINING and goes on delivering what it holds.</summary>
public sealed class AdminDrainTests
{
    [Fact]
    public async Task Drain_refuses_sends_keeps_pulls_and_acks_says_draining_in_status_and_readiness_and_accept_undoes_it()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);
        await using var client = await relay.ConnectAsync();
        using var owner = new Owner();
        var address = await owner.CreateAddressAsync(client);
        await client.SendAsync(address.Card, new byte[] { 7 });

        using var drained = await http.PostAsync("/admin/drain", null);
        var state = JsonSerializer.Deserialize(await drained.Content.ReadAsStringAsync(), AdminJson.Default.AdminDrainState)!;
        Assert.Equal((true, "draining"), (state.Draining, state.Availability));

        var refused = await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(address.Card, new byte[] { 8 }));
        Assert.Equal(ErrorCode.Draining, refused.Code);
        await client.AuthenticateAsync(address.Id, owner.Key);
        var pulled = await client.PullAsync(address.Id);
        Assert.Equal(7, Assert.Single(pulled.Messages).Ciphertext.Span[0]);
        await client.AckAsync(address.Id, [pulled.Messages[0].Id]);
        Assert.Equal(Availability.Draining, (await client.GetStatusAsync()).Availability);
        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var stats = JsonSerializer.Deserialize(await http.GetStringAsync("/admin/stats"), AdminJson.Default.AdminStats)!;
        Assert.True(stats.Draining);

        using var accepted = await http.PostAsync("/admin/drain?undo", null);
        Assert.False(JsonSerializer.Deserialize(await accepted.Content.ReadAsStringAsync(), AdminJson.Default.AdminDrainState)!.Draining);
        await client.SendAsync(address.Card, new byte[] { 9 });
        Assert.Equal(Availability.Accepting, (await client.GetStatusAsync()).Availability);
        using var readyAgain = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, readyAgain.StatusCode);

        await http.PostAsync("/admin/drain", null);
        using var acceptRoute = await http.PostAsync("/admin/accept", null);
        Assert.False(relay.Host.Server.IsDraining);
    }

    [Fact]
    public async Task A_drained_relay_still_pushes_what_it_holds_to_a_subscriber()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);
        await using var sender = await relay.ConnectAsync();
        await using var rm = await relay.ConnectAsync();
        using var owner = new Owner();
        var address = await owner.CreateAddressAsync(rm);
        await sender.SendAsync(address.Card, new byte[] { 42 });
        await http.PostAsync("/admin/drain", null);

        await rm.AuthenticateAsync(address.Id, owner.Key);
        await using var subscription = await rm.SubscribeAsync(address.Id, credit: 16);
        var delivered = await subscription.Deliveries.ReadAsync(Testing.Eventually.Deadline());

        Assert.Equal(42, Assert.Single(delivered).Ciphertext.Span[0]);
        await subscription.AckAsync([delivered[0].Id]);
    }

    [Fact]
    public async Task A_drained_relay_refuses_send_via_with_draining()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);
        var token = relay.Host.Server.Tokens.Create("rm", EdgeRelay.Server.Access.TokenRole.Rm).Secret;
        await using var client = await relay.ConnectAsync();
        await client.AuthenticateTokenAsync(token);
        await http.PostAsync("/admin/drain", null);

        var refused = await Assert.ThrowsAsync<RelayException>(() => client.SendViaAsync("127.0.0.1:1", ReadOnlyMemory<byte>.Empty, new byte[ProtocolConstants.EphemeralAddressLength], new byte[] { 1 }));

        Assert.Equal(ErrorCode.Draining, refused.Code);
    }

    [Fact]
    public async Task Reload_without_a_configuration_file_is_refused_and_with_one_returns_the_change()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);

        using var unavailable = await http.PostAsync("/admin/reload", null);
        Assert.Equal(HttpStatusCode.Conflict, unavailable.StatusCode);
        Assert.Equal("reload_unavailable", JsonSerializer.Deserialize(await unavailable.Content.ReadAsStringAsync(), AdminJson.Default.AdminError)!.Error);

        var reloaded = TestRelay.Options(relay.DataDir);
        reloaded.Sending.BatchedDelay = TimeSpan.FromSeconds(5);
        relay.Host.Server.ReloadConfiguration = () => relay.Host.Server.ApplyConfiguration(reloaded);
        using var applied = await http.PostAsync("/admin/reload", null);
        var change = JsonSerializer.Deserialize(await applied.Content.ReadAsStringAsync(), AdminJson.Default.AdminReload)!;

        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        Assert.Contains(change.Applied, a => a.Contains("BatchedDelay", StringComparison.Ordinal));
        Assert.Empty(change.Problems);
        Assert.Equal(TimeSpan.FromSeconds(5), relay.Host.Server.Sending.BatchedDelay);
    }
}
