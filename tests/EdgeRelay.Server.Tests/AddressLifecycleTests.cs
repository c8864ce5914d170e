using System.Text;
using EdgeRelay.Client;
using EdgeRelay.Protocol;
using EdgeRelay.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Server.Tests;

/// <summary>Renewal, quotas and the refusals of the owner's commands, each with its own code; nothing acknowledged is lost.</summary>
public sealed class AddressLifecycleTests
{
    /// <summary>Moving the fake clock by hours must not make the idle watchdog close the test's connections.</summary>
    private static void LongIdle(EdgeRelay.Server.EdgeRelayOptions options) => options.Relay.IdleTimeout = TimeSpan.FromDays(7);

    [Fact]
    public async Task Renewal_returns_a_fresh_card_that_outlives_the_old_expiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(LongIdle, time);
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm, TimeSpan.FromHours(1));
        await rm.AuthenticateAsync(created.Id, owner.Key);
        var oldEphemeral = RelayClient.DeriveEphemeralAddress(created.Card, TimeSpan.FromDays(1)); // capped at the card's expiry

        var renewed = await rm.RenewAddressAsync(created.Id, TimeSpan.FromHours(10));
        Assert.Equal(created.Id, renewed.Id);
        Assert.True(renewed.ExpiresAt >= created.ExpiresAt.AddHours(9), $"{renewed.ExpiresAt} vs {created.ExpiresAt}");
        Assert.Equal(renewed.ExpiresAt.ToUnixTimeSeconds(), renewed.Card.ExpiresAtUnixSeconds);

        time.Advance(TimeSpan.FromHours(2));
        await using var sender = await relay.ConnectAsync();
        await sender.SendAsync(RelayClient.DeriveEphemeralAddress(renewed.Card, TimeSpan.FromDays(1)), "after renewal"u8.ToArray());
        var refused = await Assert.ThrowsAsync<RelayException>(() => sender.SendAsync(oldEphemeral, "old card"u8.ToArray()));
        Assert.Equal(ErrorCode.AddressExpired, refused.Code); // the old card's ephemeral addresses keep their own expiry

        var pulled = await rm.PullAsync(created.Id);
        Assert.Equal("after renewal", Encoding.UTF8.GetString(Assert.Single(pulled.Messages).Ciphertext.Span));
    }

    [Fact]
    public async Task A_cached_ephemeral_address_stops_taking_sends_once_its_address_is_revoked_and_a_purge_keeps_only_later_ones()
    {
        await using var relay = await TestRelay.StartAsync();
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var kept = await owner.CreateAddressAsync(rm);
        var doomed = await owner.CreateAddressAsync(rm);
        await rm.AuthenticateAsync([(kept.Id, owner.Key), (doomed.Id, owner.Key)]);
        var keptEphemeral = RelayClient.DeriveEphemeralAddress(kept.Card, TimeSpan.FromDays(1));
        var doomedEphemeral = RelayClient.DeriveEphemeralAddress(doomed.Card, TimeSpan.FromDays(1));

        await using var sender = await relay.ConnectAsync();
        await sender.SendAsync(keptEphemeral, "before purge"u8.ToArray());
        await sender.SendAsync(doomedEphemeral, "before revoke"u8.ToArray());
        var cache = relay.Host.Server.Resolver.Cache;
        var hits = cache.Hits;
        await sender.SendAsync(doomedEphemeral, "cached"u8.ToArray());
        Assert.Equal(hits + 1, cache.Hits); // the address is answered from the cache from here on

        await rm.RevokeAddressAsync(doomed.Id, owner.Key);
        var refused = await Assert.ThrowsAsync<RelayException>(() => sender.SendAsync(doomedEphemeral, "after revoke"u8.ToArray()));
        Assert.Equal(ErrorCode.AddressRevoked, refused.Code);
        Assert.Equal(hits + 2, cache.Hits); // refused by the registry, though the cache still resolves it

        var purged = await relay.Host.Server.Storage.PurgeAsync(kept.Id);
        Assert.Equal(1, purged.Messages);
        await sender.SendAsync(keptEphemeral, "after purge"u8.ToArray());

        var pulled = await rm.PullAsync(kept.Id);
        Assert.Equal("after purge", Encoding.UTF8.GetString(Assert.Single(pulled.Messages).Ciphertext.Span));
        var pending = await rm.PullAsync(doomed.Id);
        Assert.Equal(["before revoke", "cached"], pending.Messages.Select(m => Encoding.UTF8.GetString(m.Ciphertext.Span)));
    }

    [Fact]
    public async Task Renewal_is_refused_for_a_revoked_or_expired_address_and_past_the_maximum_lifetime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var relay = await TestRelay.StartAsync(
            o =>
            {
                LongIdle(o);
                o.Relay.MaxAddressLifetime = TimeSpan.FromDays(30);
            },
            time);
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var revoked = await owner.CreateAddressAsync(rm, TimeSpan.FromHours(1));
        var expiring = await owner.CreateAddressAsync(rm, TimeSpan.FromHours(1));
        await rm.AuthenticateAsync([(revoked.Id, owner.Key), (expiring.Id, owner.Key)]);

        Assert.Equal(ErrorCode.InvalidArgument, (await Assert.ThrowsAsync<RelayException>(() => rm.RenewAddressAsync(expiring.Id, TimeSpan.FromDays(31)))).Code);

        await rm.RevokeAddressAsync(revoked.Id, owner.Key);
        Assert.Equal(ErrorCode.AddressRevoked, (await Assert.ThrowsAsync<RelayException>(() => rm.RenewAddressAsync(revoked.Id))).Code);

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ErrorCode.AddressExpired, (await Assert.ThrowsAsync<RelayException>(() => rm.RenewAddressAsync(expiring.Id))).Code);
        await rm.PingAsync(); // every one of these leaves the connection open
    }

    [Fact]
    public async Task Owner_commands_need_auth_and_valid_arguments()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Relay.MaxBatchWindow = TimeSpan.FromMinutes(1));
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);

        // Without AUTH: every owner command is refused.
        Assert.Equal(ErrorCode.NotAuthenticated, (await Assert.ThrowsAsync<RelayException>(() => rm.SubscribeAsync(created.Id))).Code);
        Assert.Equal(ErrorCode.NotAuthenticated, (await Assert.ThrowsAsync<RelayException>(() => rm.SetPolicyAsync(created.Id, DeliveryPolicy.PullOnly))).Code);
        Assert.Equal(ErrorCode.NotAuthenticated, (await Assert.ThrowsAsync<RelayException>(() => rm.SetNotifyEndpointAsync(created.Id, "https://push.example/x"))).Code);
        Assert.Equal(ErrorCode.NotAuthenticated, (await Assert.ThrowsAsync<RelayException>(() => rm.RenewAddressAsync(created.Id))).Code);

        await rm.AuthenticateAsync(created.Id, owner.Key);
        Assert.Equal(ErrorCode.InvalidArgument, (await Assert.ThrowsAsync<RelayException>(() => rm.SetPolicyAsync(created.Id, DeliveryPolicy.Batched(TimeSpan.FromMinutes(2))))).Code);
        foreach (var bad in new[] { "ftp://push.example/x", "http://push.example/x", "https://user:pw@push.example/x", "https://127.0.0.1/x", "not a url" })
        {
            var error = await Assert.ThrowsAsync<RelayException>(() => rm.SetNotifyEndpointAsync(created.Id, bad));
            Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        }

        await rm.SetNotifyEndpointAsync(created.Id, "https://push.example/up/abc");
        await rm.SetNotifyEndpointAsync(created.Id, null);

        // CREDIT or UNSUBSCRIBE without a subscription.
        var subscription = await rm.SubscribeAsync(created.Id, credit: 1);
        await subscription.DisposeAsync();
        Assert.Equal(ErrorCode.NotSubscribed, (await Assert.ThrowsAsync<RelayException>(() => subscription.GrantAsync(5))).Code);
        await rm.PingAsync();
    }

    [Fact]
    public async Task The_address_quota_refuses_with_its_own_code_until_the_owner_acks()
    {
        await using var relay = await TestRelay.StartAsync(o => o.Storage.MaxPendingMessagesPerAddress = 3);
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await using var sender = await relay.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            await sender.SendAsync(created.Card, BitConverter.GetBytes(i));
        }

        var refused = await Assert.ThrowsAsync<RelayException>(() => sender.SendAsync(created.Card, "fourth"u8.ToArray()));
        Assert.Equal(ErrorCode.QuotaAddress, refused.Code);
        Assert.False(refused.ConnectionClosed);

        await rm.AuthenticateAsync(created.Id, owner.Key);
        var pulled = await rm.PullAsync(created.Id);
        Assert.Equal(3, pulled.Messages.Count); // the three acknowledged ones, nothing of the refused one
        await rm.AckAsync(created.Id, [pulled.Messages[0].Id]);
        await sender.SendAsync(created.Card, "fourth"u8.ToArray());
    }

    [Fact]
    public async Task The_disk_budget_refuses_with_its_own_code_and_recovers_once_owners_drain()
    {
        await using var relay = await TestRelay.StartAsync(o =>
        {
            o.Storage.PageSizeBits = 16;
            o.Storage.MemorySizeBits = 20;
            o.Storage.SegmentSizeBits = 20;
            o.Storage.MaxDiskBytes = 4L << 20;
            o.Storage.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
        });
        using var owner = new Owner();
        await using var rm = await relay.ConnectAsync();
        var created = await owner.CreateAddressAsync(rm);
        await using var sender = await relay.ConnectAsync();
        var address = RelayClient.DeriveEphemeralAddress(created.Card);
        var payload = new byte[4096];
        var accepted = 0;
        RelayException? refused = null;
        while (refused is null && accepted < 5000)
        {
            try
            {
                await sender.SendAsync(address, payload);
                accepted++;
            }
            catch (RelayException ex)
            {
                refused = ex;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(ErrorCode.QuotaServer, refused.Code);
        Assert.InRange(accepted, 500, 1100); // ~4 MiB of 4 KiB messages

        // Every accepted message is there; the owner drains, maintenance truncates, and SENDs flow again.
        await rm.AuthenticateAsync(created.Id, owner.Key);
        var drained = 0;
        while (true)
        {
            var batch = await rm.PullAsync(created.Id, 256);
            if (batch.Messages.Count == 0)
            {
                break;
            }

            drained += batch.Messages.Count;
            await rm.AckAsync(created.Id, batch.Messages.Select(m => m.Id).ToArray());
        }

        Assert.Equal(accepted, drained);

        // Nothing but the relay's own maintenance timer frees the drained segments; until its next pass a
        // SEND is still refused for the budget, and only for it.
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await sender.SendAsync(address, payload);
                    return true;
                }
                catch (RelayException ex) when (ex.Code == ErrorCode.QuotaServer)
                {
                    return false;
                }
            },
            "a SEND to be accepted again once maintenance truncated the drained log",
            interval: TimeSpan.FromMilliseconds(50));
    }
}
