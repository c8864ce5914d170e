using static EdgeRelay.Storage.Tests.TestStore;

namespace EdgeRelay.Storage.Tests;

public sealed class DisposeTests
{
    [Fact]
    public async Task After_dispose_every_method_throws_ObjectDisposedException()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var id = Append(store, aid, Payload(1, 10));
        await store.DisposeAsync();
        await store.DisposeAsync(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => store.TryAppendMessage(aid, Payload(1, 10), out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendMessageAsync(aid, Payload(1, 10)));
        Assert.Throws<ObjectDisposedException>(() => store.CreateAddress(AddressId.NewRandom(), Key(1), long.MaxValue));
        Assert.Throws<ObjectDisposedException>(() => store.TryGetAddress(aid, out _));
        Assert.Throws<ObjectDisposedException>(() => store.Revoke(aid, out _));
        Assert.Throws<ObjectDisposedException>(() => store.GetPending(aid, new PendingMessage[1]));
        Assert.Throws<ObjectDisposedException>(() => store.Ack(aid, [id], out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AckAsync(aid, new[] { id }));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ReadPayloadAsync(id));
        Assert.Throws<ObjectDisposedException>(() => store.IsCommitted(id));
        Assert.Throws<ObjectDisposedException>(store.RequestCommit);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.WaitForCommitAsync(id));
        Assert.Throws<ObjectDisposedException>(() => store.GetStatistics());

        // Dispose committed what was appended: it is there after reopen.
        await using var reopened = await OpenAsync(dir, time);
        Assert.Equal(id, Assert.Single(Pending(reopened, aid)).Id);
    }

    [Fact]
    public async Task Dispose_completes_waiters_of_records_appended_before_it()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        var store = await OpenAsync(dir, time);
        var aid = await CreateAddressAsync(store, time);
        var id = Append(store, aid, Payload(1, 10));
        var wait = store.WaitForCommitAsync(id).AsTask();

        await store.DisposeAsync();

        await wait.WaitAsync(Timeout());
        Assert.True(store.CommittedUntilAddress > id);
    }
}
