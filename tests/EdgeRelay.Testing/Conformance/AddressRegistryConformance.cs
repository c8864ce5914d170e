using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Conformance;

/// <summary>
/// What every backend's <see cref="IAddressRegistry"/> must do: register and look up, refuse what is invalid,
/// revoke, renew, keep the owner's settings, and keep every durable change across restarts and crashes.
/// </summary>
public abstract class AddressRegistryConformance : StorageConformance
{
    [Fact]
    public async Task A_created_address_is_found_as_registered_and_lookups_share_one_view()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = AddressId.NewRandom();
        var expiresAt = Time.GetUtcNow().AddDays(3).ToUnixTimeSeconds();

        var ticket = await storage.CreateAddressAsync(aid, Key(9), expiresAt);

        Assert.False(ticket.IsNone);
        Assert.True(storage.TryGetAddress(aid, out var first), "visible before it is durable");
        Assert.True(storage.TryGetAddress(aid, out var second));
        Assert.Same(first, second);
        Assert.Equal(aid, first.Id);
        Assert.Equal(Key(9), first.OwnerPublicKey.ToArray());
        Assert.Equal(Time.GetUtcNow().ToUnixTimeSeconds(), first.CreatedAt);
        Assert.Equal(expiresAt, first.ExpiresAt);
        Assert.False(first.IsRevoked);
        Assert.Equal(DeliveryPolicy.Immediate, first.Policy);
        Assert.Null(first.NotifyEndpoint);
        Assert.False(storage.TryGetAddress(AddressId.NewRandom(), out _));
    }

    [Fact]
    public async Task Invalid_creations_throw_and_create_nothing()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var tomorrow = Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await storage.CreateAddressAsync(aid, Key(1), tomorrow));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await storage.CreateAddressAsync(AddressId.NewRandom(), new byte[31], tomorrow));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await storage.CreateAddressAsync(default, Key(1), tomorrow));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await storage.CreateAddressAsync(AddressId.NewRandom(), Key(1), Time.GetUtcNow().ToUnixTimeSeconds()));
        Assert.Equal(1, storage.GetStatistics().Addresses);
    }

    [Fact]
    public async Task Revocation_reports_its_state_and_a_repeated_one_writes_nothing()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);

        var (status, ticket) = await storage.RevokeAsync(aid);
        Assert.Equal(RevokeStatus.Revoked, status);
        Assert.False(ticket.IsNone);
        Assert.True(storage.TryGetAddress(aid, out var info) && info.IsRevoked, "visible before it is durable");
        Assert.Equal(Time.GetUtcNow().ToUnixTimeSeconds(), info.RevokedAt);
        await storage.WaitDurableAsync(ticket, Deadline());

        Assert.Equal(new WriteResult<RevokeStatus>(RevokeStatus.AlreadyRevoked, DurabilityTicket.None), await storage.RevokeAsync(aid));
        Assert.Equal(new WriteResult<RevokeStatus>(RevokeStatus.UnknownAddress, DurabilityTicket.None), await storage.RevokeAsync(AddressId.NewRandom()));
    }

    [Fact]
    public async Task Renewal_moves_the_expiry_and_refuses_revoked_expired_and_unknown_addresses()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage, lifetime: TimeSpan.FromHours(1));
        var later = Time.GetUtcNow().AddDays(30).ToUnixTimeSeconds();

        var (status, ticket) = await storage.RenewAsync(aid, later);
        Assert.Equal(AddressUpdateStatus.Updated, status);
        Assert.False(ticket.IsNone);
        Assert.True(storage.TryGetAddress(aid, out var info));
        Assert.Equal(later, info.ExpiresAt);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await storage.RenewAsync(aid, Time.GetUtcNow().ToUnixTimeSeconds()));

        var revoked = await CreateAddressAsync(storage, seed: 2);
        await storage.RevokeAsync(revoked);
        Assert.Equal(AddressUpdateStatus.Revoked, (await storage.RenewAsync(revoked, later)).Status);

        var expiring = await CreateAddressAsync(storage, seed: 3, lifetime: TimeSpan.FromHours(1));
        Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(AddressUpdateStatus.Expired, (await storage.RenewAsync(expiring, later)).Status);
        Assert.Equal(AddressUpdateStatus.UnknownAddress, (await storage.RenewAsync(AddressId.NewRandom(), later)).Status);
    }

    [Fact]
    public async Task The_delivery_policy_and_the_notification_endpoint_are_set_and_cleared()
    {
        await using var storage = await Backend.OpenAsync();
        var aid = await CreateAddressAsync(storage);
        var batched = DeliveryPolicy.Batched(TimeSpan.FromSeconds(2));

        Assert.Equal(AddressUpdateStatus.Updated, (await storage.SetPolicyAsync(aid, batched)).Status);
        Assert.Equal(AddressUpdateStatus.Updated, (await storage.SetNotifyEndpointAsync(aid, "https://push.example/abc")).Status);
        Assert.True(storage.TryGetAddress(aid, out var info));
        Assert.Equal((batched, "https://push.example/abc"), (info.Policy, info.NotifyEndpoint));

        Assert.Equal(AddressUpdateStatus.Updated, (await storage.SetNotifyEndpointAsync(aid, null)).Status);
        Assert.True(storage.TryGetAddress(aid, out info));
        Assert.Null(info.NotifyEndpoint);

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await storage.SetPolicyAsync(aid, new DeliveryPolicy(DeliveryPolicyKind.Batched, 0)));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await storage.SetNotifyEndpointAsync(aid, new string('x', AddressInfo.MaxNotifyEndpointBytes + 1)));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await storage.SetNotifyEndpointAsync(aid, ""));
        Assert.Equal(AddressUpdateStatus.UnknownAddress, (await storage.SetPolicyAsync(AddressId.NewRandom(), batched)).Status);
        Assert.Equal(AddressUpdateStatus.UnknownAddress, (await storage.SetNotifyEndpointAsync(AddressId.NewRandom(), null)).Status);
    }

    [Fact]
    public async Task Every_change_survives_a_restart()
    {
        var storage = await Backend.OpenAsync();
        var plain = await CreateAddressAsync(storage);
        var revoked = await CreateAddressAsync(storage, seed: 2);
        var changed = await CreateAddressAsync(storage, seed: 3);
        var later = Time.GetUtcNow().AddDays(40).ToUnixTimeSeconds();
        await storage.RevokeAsync(revoked);
        await storage.RenewAsync(changed, later);
        await storage.SetPolicyAsync(changed, DeliveryPolicy.PullOnly);
        await storage.SetNotifyEndpointAsync(changed, "https://push.example/wake");
        storage.TryGetAddress(plain, out var plainBefore);
        await storage.DisposeAsync();

        await using (storage = await Backend.OpenAsync())
        {
            Assert.Equal(3, storage.GetStatistics().Addresses);
            Assert.True(storage.TryGetAddress(plain, out var info));
            Assert.Equal((plainBefore!.CreatedAt, plainBefore.ExpiresAt, false), (info.CreatedAt, info.ExpiresAt, info.IsRevoked));
            Assert.Equal(Key(1), info.OwnerPublicKey.ToArray());
            Assert.True(storage.TryGetAddress(revoked, out info) && info.IsRevoked);
            Assert.True(storage.TryGetAddress(changed, out info));
            Assert.Equal((later, DeliveryPolicy.PullOnly, "https://push.example/wake"), (info.ExpiresAt, info.Policy, info.NotifyEndpoint));
        }
    }

    [Fact]
    public async Task A_crash_keeps_every_durable_change()
    {
        var storage = await Backend.OpenAsync();
        var kept = await CreateAddressAsync(storage);
        var revoked = await CreateAddressAsync(storage, seed: 2);
        await storage.WaitDurableAsync((await storage.RevokeAsync(revoked)).Ticket, Deadline());
        await storage.WaitDurableAsync((await storage.SetPolicyAsync(kept, DeliveryPolicy.PullOnly)).Ticket, Deadline());

        // Not durable when the process dies: nobody was handed this card.
        var unpromised = AddressId.NewRandom();
        await storage.CreateAddressAsync(unpromised, Key(3), Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds());

        await using (storage = await Backend.CrashAndReopenAsync(storage))
        {
            Assert.True(storage.TryGetAddress(kept, out var info) && info.Policy == DeliveryPolicy.PullOnly);
            Assert.True(storage.TryGetAddress(revoked, out info) && info.IsRevoked);
            if (Backend.CrashLosesUndurableWrites)
            {
                Assert.False(storage.TryGetAddress(unpromised, out _));
            }
        }
    }
}
