using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

public sealed class BackpressureTests
{
    // Four 4 KiB pages: three 1 KiB messages per page, so the buffer fills after a dozen.
    internal static void TinyMemory(FasterStorageOptions o)
    {
        o.PageSizeBits = 12;
        o.MemorySizeBits = 14;
        o.SegmentSizeBits = 20;
        o.MaxPayloadBytes = 1024;
    }

    [Fact]
    public async Task A_full_buffer_is_reported_not_spun_on()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, TinyMemory);
        var aid = await CreateAddressAsync(store, time);

        var appended = 0;
        AppendStatus status;
        while ((status = store.TryAppend(aid, Payload(appended, 1000), out _, out _)) == AppendStatus.Appended)
        {
            appended++;
            Assert.True(appended < 1000, "the buffer never filled");
        }

        Assert.Equal(AppendStatus.Backpressure, status);

        // The async path waits for a commit to free the buffer.
        var appendedAsync = await store.AppendAsync(aid, Payload(1, 1000), Timeout());
        Assert.Equal(AppendStatus.Appended, appendedAsync.Status);
        await store.WaitForCommitAsync(appendedAsync.Ticket, Timeout());
        Assert.Equal(appended + 1, Pending(store, aid).Length);
    }

    [Fact]
    public async Task Many_async_appends_through_a_tiny_buffer_all_complete_and_commit()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, TinyMemory);
        var aids = new[] { await CreateAddressAsync(store, time), await CreateAddressAsync(store, time, seed: 2) };
        var ct = Timeout();

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var result = await store.AppendAsync(aids[w % 2], Payload(i, 1000), ct);
                Assert.Equal(AppendStatus.Appended, result.Status);
                if (i % 50 == 49)
                {
                    await store.WaitForCommitAsync(result.Ticket, ct);
                }
            }
        }, ct)).ToArray();
        await Task.WhenAll(writers).WaitAsync(ct);
        await CommitAllAsync(store);

        Assert.Equal(600, Pending(store, aids[0]).Length);
        Assert.Equal(600, Pending(store, aids[1]).Length);
        Assert.Equal(1200, store.GetStatistics().PendingMessages);
    }

    [Fact]
    public async Task Control_records_wait_for_space_too()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, TinyMemory);
        var aid = await CreateAddressAsync(store, time);
        var first = Append(store, aid, Payload(0, 1000));
        await store.WaitForCommitAsync(first);
        while (store.TryAppend(aid, Payload(1, 1000), out _, out _) == AppendStatus.Appended)
        {
        }

        // Buffer full: each of these has to wait for a commit rather than fail, spin or block a thread.
        var ack = await store.AckAsync(aid, first).AsTask().WaitAsync(Timeout());
        Assert.Equal(AckStatus.Acked, ack.Status);
        var other = AddressId.NewRandom();
        var created = await store.CreateAddressAsync(other, Key(2), time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()).AsTask().WaitAsync(Timeout());
        var revoked = await store.RevokeAsync(other).AsTask().WaitAsync(Timeout());
        Assert.Equal(RevokeStatus.Revoked, revoked.Status);
        var policy = await store.SetPolicyAsync(other, DeliveryPolicy.PullOnly).AsTask().WaitAsync(Timeout());
        Assert.Equal(AddressUpdateStatus.Updated, policy.Status);
        await store.WaitForCommitAsync(DurabilityTicket.Latest(ack.Ticket, DurabilityTicket.Latest(created, DurabilityTicket.Latest(revoked.Ticket, policy.Ticket))), Timeout());
        Assert.DoesNotContain(Pending(store, aid), p => p.Id.Value == first);
    }
}
