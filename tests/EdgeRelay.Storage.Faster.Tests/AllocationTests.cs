using EdgeRelay.Testing;
using Xunit.Abstractions;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>
/// Correctness, not timing: the ingest path must not allocate per message. FASTER itself allocates
/// when the tail crosses into a new page (the flush of the full page: its async device write, callback
/// objects, epoch actions; ~1.4 KB per page turn measured) and when an enqueue fails for lack of
/// space (~64 B of closures); the first test therefore measures inside one page, the second reports
/// the amortised figure including page turns.
/// </summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    private const int PageBits = 22;

    private static void FourMiBPages(FasterStorageOptions o)
    {
        o.PageSizeBits = PageBits;
        o.MemorySizeBits = 24; // four pages
        o.SegmentSizeBits = 26;
        o.ReadCacheSizeBits = 26; // the relay's default: the mirror's copy must not allocate either
    }

    [Fact]
    public async Task TryAppend_allocates_nothing_on_a_warm_store()
    {
        using var dir = new TempDirectory();
        await using var store = await OpenAsync(dir, TimeProvider.System, FourMiBPages);
        var aid = await CreateAddressAsync(store, TimeProvider.System);
        var payload = new byte[100];

        // Warm up: JIT, and the address' pending ring grown past what the rest needs, then drained.
        var warm = new long[65_536];
        for (var i = 0; i < warm.Length; i++)
        {
            warm[i] = await AppendAsync(store, aid, payload);
        }

        await CommitAllAsync(store);
        var ack = await store.AckAsync(aid, warm);
        Assert.Equal(AckStatus.Acked, ack.Status);
        await store.WaitForCommitAsync(ack.Ticket);

        // Move to the start of a fresh page, so that the measured appends cause no page turn.
        var page = store.GetStatistics().LogTailAddress >> PageBits;
        while (store.GetStatistics().LogTailAddress >> PageBits == page)
        {
            await AppendAsync(store, aid, payload);
        }

        page = store.GetStatistics().LogTailAddress >> PageBits;
        var refused = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            if (store.TryAppend(aid, payload, out _, out _) != AppendStatus.Appended)
            {
                refused++;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"10,000 TryAppend (100 B) within one page: {allocated} bytes allocated");
        Assert.Equal(0, refused);
        Assert.Equal(page, store.GetStatistics().LogTailAddress >> PageBits);
        Assert.True(allocated < 64, $"{allocated} bytes allocated by 10,000 appends");
    }

    [Fact]
    public async Task Delivery_reads_and_commit_checks_allocate_nothing()
    {
        using var dir = new TempDirectory();
        await using var store = await OpenAsync(dir, TimeProvider.System);
        var aid = await CreateAddressAsync(store, TimeProvider.System);
        var last = 0L;
        for (var i = 0; i < 100; i++)
        {
            last = Append(store, aid, new byte[10]);
        }

        await store.WaitForCommitAsync(last);
        var page = new PendingMessage[128];
        var ticket = Ticket(last);
        _ = store.GetPending(aid, MessageId.None, page);
        _ = store.TryGetAddress(aid, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        for (var i = 0; i < 1000; i++)
        {
            total += store.GetPending(aid, MessageId.None, page);
            total += store.TryGetAddress(aid, out _) ? 1 : 0;
            total += store.IsDurable(ticket) ? 1 : 0;
            total += CompletedSynchronously(store.WaitDurableAsync(ticket)) ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000 * 103, total);
        Assert.True(allocated < 64, $"{allocated} bytes allocated");
    }

    [Fact]
    public async Task Amortised_over_page_turns_the_append_path_stays_near_zero()
    {
        using var dir = new TempDirectory();
        // Eight pages: the 20 MB measured below fit without waiting for a flush, so every append
        // succeeds and what is measured is the page turns, not refused enqueues.
        await using var store = await OpenAsync(dir, TimeProvider.System, o => { FourMiBPages(o); o.MemorySizeBits = 25; });
        var aid = await CreateAddressAsync(store, TimeProvider.System);
        var payload = new byte[1024];

        // Warm up past the whole memory buffer twice (FASTER allocates each page frame on its first
        // use) and grow the address' ring, then drain it; the commit leaves every page flushed.
        var warm = new long[64_000];
        for (var i = 0; i < warm.Length; i++)
        {
            warm[i] = await AppendAsync(store, aid, payload);
        }

        await CommitAllAsync(store);
        var ack = await store.AckAsync(aid, warm);
        Assert.Equal(AckStatus.Acked, ack.Status);
        await store.WaitForCommitAsync(ack.Ticket);

        var startPage = store.GetStatistics().LogTailAddress >> PageBits;
        var appended = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20_000; i++)
        {
            if (store.TryAppend(aid, payload, out _, out _) == AppendStatus.Appended)
            {
                appended++;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var pages = (store.GetStatistics().LogTailAddress >> PageBits) - startPage;
        output.WriteLine($"{appended:N0} TryAppend (1 KiB) across {pages} page turns: {allocated:N0} bytes, {(double)allocated / appended:F2} B per append");
        Assert.Equal(20_000, appended);
        Assert.True(allocated < appended * 2L, $"{allocated} bytes for {appended} appends");
    }
}
