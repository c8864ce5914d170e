using EdgeRelay.Testing;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>A purge is written as acknowledgements: compaction, truncation and recovery treat it as such.</summary>
public sealed class PurgeTests
{
    [Fact]
    public async Task A_purge_larger_than_one_record_then_compaction_and_a_restart_keep_it_purged_and_the_rest_intact()
    {
        using var dir = new TempDirectory();
        var time = Clock();
        static void Small(FasterStorageOptions o)
        {
            o.PageSizeBits = 16; // 64 KiB pages: an acknowledgement record holds some 8,000 ids
            o.MemorySizeBits = 18;
            o.SegmentSizeBits = 20;
        }

        AddressId purged, kept;
        var keptPayloads = new List<byte[]>();
        await using (var store = await OpenAsync(dir, time, Small))
        {
            purged = await CreateAddressAsync(store, time, seed: 1);
            kept = await CreateAddressAsync(store, time, seed: 2);
            for (var i = 0; i < 12_000; i++)
            {
                Assert.Equal(AppendStatus.Appended, (await store.AppendMessageAsync(purged, Payload(i, 100), Timeout())).Status);
                if (i % 100 == 0)
                {
                    keptPayloads.Add(Payload(i, 200));
                    Assert.Equal(AppendStatus.Appended, (await store.AppendMessageAsync(kept, keptPayloads[^1], Timeout())).Status);
                }
            }

            await CommitAllAsync(store);
            Assert.True(store.MaxAckIds < 12_000, "the purge must span several records");

            var result = await store.PurgeAsync(purged, Timeout());
            await store.WaitDurableAsync(result.Ticket, Timeout());
            Assert.Equal((PurgeStatus.Purged, 12_000L, 1_200_000L), (result.Status, result.Messages, result.Bytes));

            // Compaction copies only live messages forward: the purged ones must not come back with them.
            await store.RunMaintenanceAsync();
            Assert.Empty(Pending(store, purged));
        }

        await using (var store = await OpenAsync(dir, time, Small))
        {
            Assert.Empty(Pending(store, purged));
            var pending = Pending(store, kept);
            Assert.Equal(keptPayloads.Count, pending.Length);
            for (var i = 0; i < pending.Length; i++)
            {
                Assert.Equal(keptPayloads[i], await ReadAsync(store, kept, pending[i]));
            }

            Assert.Equal(keptPayloads.Count, store.GetStatistics().PendingMessages);
        }
    }
}
