using static EdgeRelay.Storage.Tests.TestStore;

namespace EdgeRelay.Storage.Tests;

public sealed class RefusalTests
{
    [Fact]
    public async Task Unknown_address_is_refused()
    {
        using var dir = new TempDirectory();
        await using var store = await OpenAsync(dir);

        Assert.Equal(AppendStatus.UnknownAddress, store.TryAppendMessage(AddressId.NewRandom(), Payload(1, 10), out var id));
        Assert.Equal(0, id);
        Assert.Equal(AppendStatus.UnknownAddress, (await store.AppendMessageAsync(AddressId.NewRandom(), Payload(1, 10))).Status);
        Assert.False(store.TryGetAddress(AddressId.NewRandom(), out _));
    }

    [Fact]
    public async Task Revoked_address_is_refused_and_revocation_reports_its_state()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);

        Assert.Equal(RevokeStatus.Revoked, store.Revoke(aid, out var record));
        await store.WaitForCommitAsync(record);

        Assert.Equal(AppendStatus.Revoked, store.TryAppendMessage(aid, Payload(1, 10), out _));
        Assert.Equal(RevokeStatus.AlreadyRevoked, store.Revoke(aid, out var again));
        Assert.Equal(0, again);
        Assert.Equal(RevokeStatus.UnknownAddress, store.Revoke(AddressId.NewRandom(), out _));
        Assert.True(store.TryGetAddress(aid, out var info));
        Assert.True(info.IsRevoked);
        Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds(), info.RevokedAt);
    }

    [Fact]
    public async Task Expired_address_is_refused_from_its_expiry_on()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = AddressId.NewRandom();
        var expiresAt = time.GetUtcNow().AddHours(1).ToUnixTimeSeconds();
        await store.WaitForCommitAsync(store.CreateAddress(aid, Key(1), expiresAt));

        time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, Payload(1, 10), out _));

        time.Advance(TimeSpan.FromSeconds(1)); // now == expiresAt
        Assert.Equal(AppendStatus.Expired, store.TryAppendMessage(aid, Payload(1, 10), out _));
        Assert.Equal(AppendStatus.Expired, (await store.AppendMessageAsync(aid, Payload(1, 10))).Status);
    }

    [Fact]
    public async Task Payload_over_the_maximum_is_refused_and_the_maximum_itself_accepted()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.MaxPayloadBytes = 1000);
        var aid = await CreateAddressAsync(store, time);

        Assert.Equal(AppendStatus.PayloadTooLarge, store.TryAppendMessage(aid, new byte[1001], out _));
        Assert.Equal(AppendStatus.PayloadTooLarge, (await store.AppendMessageAsync(aid, new byte[1001])).Status);
        Assert.Equal(AppendStatus.Appended, store.TryAppendMessage(aid, new byte[1000], out _));
    }

    [Fact]
    public async Task Invalid_address_creations_throw()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var tomorrow = time.GetUtcNow().AddDays(1).ToUnixTimeSeconds();

        Assert.Throws<InvalidOperationException>(() => store.CreateAddress(aid, Key(1), tomorrow));
        Assert.Throws<ArgumentException>(() => store.CreateAddress(AddressId.NewRandom(), new byte[31], tomorrow));
        Assert.Throws<ArgumentException>(() => store.CreateAddress(default, Key(1), tomorrow));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.CreateAddress(AddressId.NewRandom(), Key(1), time.GetUtcNow().ToUnixTimeSeconds()));
        Assert.Equal(1, store.GetStatistics().Addresses);
    }

    [Fact]
    public async Task Address_info_is_the_registered_one_and_shared()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time);
        var aid = AddressId.NewRandom();
        var expiresAt = time.GetUtcNow().AddDays(3).ToUnixTimeSeconds();
        store.CreateAddress(aid, Key(9), expiresAt);

        Assert.True(store.TryGetAddress(aid, out var first));
        Assert.True(store.TryGetAddress(aid, out var second));
        Assert.Same(first, second);
        Assert.Equal(aid, first.Id);
        Assert.Equal(Key(9), first.OwnerPublicKey.ToArray());
        Assert.Equal(time.GetUtcNow().ToUnixTimeSeconds(), first.CreatedAt);
        Assert.Equal(expiresAt, first.ExpiresAt);
        Assert.False(first.IsRevoked);
    }
}
