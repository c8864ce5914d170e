using System.Net;
using System.Text.Json;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Server.Admin;
using EdgeRelay.Testing;

namespace EdgeRelay.Server.Tests.Admin;

/// <summary>Listing, inspecting, revoking and purging addresses through the admin API of a real relay.</summary>
public sealed class AdminAddressesTests
{
    [Fact]
    public async Task The_listing_pages_through_every_address_with_its_backlog_and_shows_no_key_endpoint_or_ciphertext()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);
        await using var client = await relay.ConnectAsync();
        using var owner = new Owner();
        var created = new List<CreatedAddress>();
        for (var i = 0; i < 5; i++)
        {
            created.Add(await owner.CreateAddressAsync(client));
        }

        await client.SendAsync(created[2].Card, "secret-ciphertext-one"u8.ToArray());
        await client.SendAsync(created[2].Card, "secret-ciphertext-two"u8.ToArray());
        await client.AuthenticateAsync(created[4].Id, owner.Key);
        await client.SetNotifyEndpointAsync(created[4].Id, "https://push.example.org/secret-capability");
        await client.SetPolicyAsync(created[4].Id, DeliveryPolicy.PullOnly);

        var listed = new List<AdminAddress>();
        string? after = null;
        var bodies = new List<string>();
        do
        {
            var body = await http.GetStringAsync("/admin/addresses?limit=2" + (after is null ? "" : "&after=" + after));
            bodies.Add(body);
            var page = JsonSerializer.Deserialize(body, AdminJson.Default.AdminAddressPage)!;
            listed.AddRange(page.Addresses);
            after = page.NextAfter;
        }
        while (after is not null);

        Assert.Equal(created.Select(c => c.Id.ToString()).Order(StringComparer.Ordinal), listed.Select(a => a.Aid));
        var busy = Assert.Single(listed, a => a.Aid == created[2].Id.ToString());
        Assert.Equal((2, 42L), (busy.PendingMessages, busy.PendingBytes));
        var pullOnly = Assert.Single(listed, a => a.Aid == created[4].Id.ToString());
        Assert.Equal(("pull-only", true), (pullOnly.Policy, pullOnly.WakeUps));
        Assert.All(listed, a => Assert.Null(a.RevokedAt));
        var all = string.Concat(bodies);
        Assert.DoesNotContain("secret", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(owner.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey)), all, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(owner.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey)), all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/admin/addresses?limit=0")]
    [InlineData("/admin/addresses?limit=1001")]
    [InlineData("/admin/addresses?limit=ten")]
    [InlineData("/admin/addresses?after=xyz")]
    [InlineData("/admin/addresses/not-an-aid")]
    public async Task A_bad_argument_is_refused_with_400_and_a_stable_code(string path)
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);

        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_argument", JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), AdminJson.Default.AdminError)!.Error);
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("POST", "/revoke")]
    [InlineData("POST", "/purge")]
    public async Task An_unknown_address_is_404_with_unknown_address(string method, string suffix)
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/admin/addresses/{AddressId.NewRandom()}{suffix}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("unknown_address", JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), AdminJson.Default.AdminError)!.Error);
    }

    [Fact]
    public async Task Revoke_stops_new_messages_and_inspect_shows_it()
    {
        await using var relay = await AdminAuthenticationTests.StartAsync();
        using var http = AdminAuthenticationTests.Client(relay);
        await using var client = await relay.ConnectAsync();
        using var owner = new Owner();
        var address = await owner.CreateAddressAsync(client);

        using var first = await http.PostAsync($"/admin/addresses/{address.Id}/revoke", null);
        using var second = await http.PostAsync($"/admin/addresses/{address.Id}/revoke", null);
        var refused = await Assert.ThrowsAsync<RelayException>(() => client.SendAsync(address.Card, new byte[] { 1 }));
        var inspected = JsonSerializer.Deserialize(await http.GetStringAsync($"/admin/addresses/{address.Id}"), AdminJson.Default.AdminAddress)!;

        Assert.Equal("revoked", JsonSerializer.Deserialize(await first.Content.ReadAsStringAsync(), AdminJson.Default.AdminAddressChange)!.Outcome);
        Assert.Equal("already_revoked", JsonSerializer.Deserialize(await second.Content.ReadAsStringAsync(), AdminJson.Default.AdminAddressChange)!.Outcome);
        Assert.Equal(ErrorCode.AddressRevoked, refused.Code);
        Assert.NotNull(inspected.RevokedAt);
    }

    [Fact]
    public async Task Purge_drops_the_backlog_durably_the_owner_pulls_nothing_and_after_a_restart_still_nothing()
    {
        using var folder = new TempDirectory();
        CreatedAddress purged, kept;
        using var owner = new Owner();
        await using (var relay = await TestRelay.StartAsync(o => o.Admin.Token = AdminAuthenticationTests.Token, dataDir: folder.Path))
        {
            using var http = AdminAuthenticationTests.Client(relay);
            await using var client = await relay.ConnectAsync();
            purged = await owner.CreateAddressAsync(client);
            kept = await owner.CreateAddressAsync(client);
            for (var i = 0; i < 3; i++)
            {
                await client.SendAsync(purged.Card, new byte[100]);
                await client.SendAsync(kept.Card, new byte[] { (byte)i });
            }

            using var response = await http.PostAsync($"/admin/addresses/{purged.Id}/purge", null);
            var change = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), AdminJson.Default.AdminAddressChange)!;
            Assert.Equal(("purged", 3L, 300L), (change.Outcome, change.PurgedMessages, change.PurgedBytes));

            await client.AuthenticateAsync([(purged.Id, owner.Key), (kept.Id, owner.Key)]);
            Assert.Empty((await client.PullAsync(purged.Id)).Messages);
            Assert.Equal(3, (await client.PullAsync(kept.Id)).Messages.Count);
        }

        await using (var relay = await TestRelay.StartAsync(dataDir: folder.Path))
        {
            await using var client = await relay.ConnectAsync();
            await client.AuthenticateAsync([(purged.Id, owner.Key), (kept.Id, owner.Key)]);
            Assert.Empty((await client.PullAsync(purged.Id)).Messages);
            Assert.Equal([0, 1, 2], (await client.PullAsync(kept.Id)).Messages.Select(m => (int)m.Ciphertext.Span[0]));
        }
    }
}
