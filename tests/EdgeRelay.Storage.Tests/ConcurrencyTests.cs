using System.Collections.Concurrent;
using static EdgeRelay.Storage.Tests.TestStore;

namespace EdgeRelay.Storage.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Concurrent_writers_keep_every_pending_list_ordered_and_complete()
    {
        const int Writers = 4;
        const int PerWriter = 1500;
        using var dir = new TempDirectory();
        var time = Clock();
        await using var store = await OpenAsync(dir, time, o => o.MemorySizeBits = 18);
        var shared = new[] { await CreateAddressAsync(store, time), await CreateAddressAsync(store, time, seed: 2) };
        var own = new AddressId[Writers];
        for (var w = 0; w < Writers; w++)
        {
            own[w] = await CreateAddressAsync(store, time, seed: 10 + w);
        }

        var appended = new ConcurrentDictionary<AddressId, ConcurrentBag<long>>();
        var ct = Timeout();
        var writing = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                // Two thirds to the shared addresses, one third to the writer's own.
                var aid = (i % 3) switch { 0 => shared[0], 1 => shared[1], _ => own[w] };
                var payload = Payload(i, 64);
                if (store.TryAppendMessage(aid, payload, out var id) != AppendStatus.Appended)
                {
                    var result = await store.AppendMessageAsync(aid, payload, ct);
                    Assert.Equal(AppendStatus.Appended, result.Status);
                    id = result.MessageId;
                }

                appended.GetOrAdd(aid, _ => []).Add(id);
                if (i % 100 == 0)
                {
                    store.RequestCommit();
                }
            }
        }, ct)).ToArray();

        // A reader pulls shared[0] with a cursor while the writers run, as a delivery session would:
        // if ids could appear behind the cursor, it would miss them.
        var expectedShared0 = Writers * PerWriter / 3;
        var reader = Task.Run(async () =>
        {
            var seen = new List<long>();
            var page = new PendingMessage[256];
            var after = -1L;
            while (seen.Count < expectedShared0)
            {
                ct.ThrowIfCancellationRequested();
                var n = store.GetPending(shared[0], after, page);
                if (n == 0)
                {
                    store.RequestCommit();
                    await Task.Delay(1, ct);
                    continue;
                }

                seen.AddRange(page[..n].Select(p => p.Id));
                after = page[n - 1].Id;
            }

            return seen;
        }, ct);

        await Task.WhenAll(writing).WaitAsync(ct);
        await CommitAllAsync(store);
        var cursorSeen = await reader.WaitAsync(ct);

        foreach (var aid in shared.Concat(own))
        {
            var ids = Pending(store, aid).Select(p => p.Id).ToArray();
            Assert.True(ids.Zip(ids.Skip(1)).All(pair => pair.First < pair.Second), "pending list ordered by id");
            Assert.Equal(appended[aid].OrderBy(id => id), ids);
        }

        Assert.Equal(expectedShared0, appended[shared[0]].Count);
        Assert.Equal(appended[shared[0]].OrderBy(id => id), cursorSeen);
        Assert.Equal(Writers * PerWriter, store.GetStatistics().PendingMessages);
        Assert.Equal(Writers * PerWriter, appended.Values.Sum(b => b.Count));
    }
}
