using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;
using static EdgeRelay.Storage.Faster.Tests.TestStore;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>The online backup of the forwarding queue: its log cut at a commit point while settles, sends and maintenance go on.</summary>
public sealed class OutboundBackupTests
{
    [Fact]
    public async Task A_backup_of_a_queue_holding_messages_restores_exactly_the_queued_ones_at_its_commit_point_while_settles_and_maintenance_go_on()
    {
        using var dir = new TempDirectory("edgerelay-outbound");
        using var copy = new TempDirectory();
        var time = Clock();
        var queued = new Dictionary<long, OutboundRequest>();
        long until;
        long later;
        BackupManifest manifest;

        // Closed with a bound, not by await using: a backup hold that was never ended would make closing wait forever.
        var queue = await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(dir.Path), time);
        try
        {
            // A few 64 KiB segments of messages.
            for (var i = 0; i < 200; i++)
            {
                var request = OutboundQueueConformance.Request(i, length: 2000);
                var result = await queue.EnqueueAsync(request, Timeout());
                await queue.WaitDurableAsync(result.Ticket, Timeout());
                queued.Add(result.SendId, request);
            }

            var first = queued.Keys.Order().Take(100).ToArray();
            Task maintenance;

            // As a caller naturally writes it: dispose what BeginBackupAsync returned, archive the set moved under its
            // folder. Either handle ends the backup's hold.
            await using (var set = await queue.BeginBackupAsync(Timeout()))
            {
                until = Assert.Single(set.CommitPoints).CommittedUntil;
                Assert.All(queued.Keys, id => Assert.True(id < until, $"message {id} queued before the backup lies past its commit point {until}"));

                // Delivered during the backup, each acknowledged (durable); then maintenance forced: it would truncate
                // the segments of those hundred, but waits for the backup.
                foreach (var id in first)
                {
                    var settled = await queue.SettleAsync(id, OutboundState.Delivered, 0, Timeout());
                    Assert.Equal(SettleStatus.Settled, settled.Status);
                    await queue.WaitDurableAsync(settled.Ticket, Timeout());
                }

                maintenance = queue.RunMaintenanceAsync();

                // Senders are not held up by the backup.
                var sent = await queue.EnqueueAsync(OutboundQueueConformance.Request(1000, length: 2000), Timeout());
                await queue.WaitDurableAsync(sent.Ticket, Timeout());
                later = sent.SendId;
                Assert.True(later >= until);

                await using (var archive = File.Create(copy.Combine("backup.tar")))
                {
                    manifest = await BackupArchive.WriteAsync(archive, [set.Under("outbound")], [], time, null, Timeout());
                }

                Assert.False(maintenance.IsCompleted, "maintenance ran while the backup held its files");
            }

            await Eventually.Within(maintenance, "the maintenance pass held off by the backup to run once it ended");
            await Eventually.TrueAsync(() => !File.Exists(dir.Combine("log", "relay.log.0")), "segment 0 to be deleted once the backup ended");
            Assert.Equal(101, queue.GetStatistics().QueuedMessages);
        }
        finally
        {
            await Eventually.Within(queue.DisposeAsync().AsTask(), "the queue to close (it waits for every backup hold to end)");
        }

        var log = Assert.Single(Assert.Single(manifest.Stores).Logs);
        Assert.Equal(("outbound/log", until), (log.Directory, log.CommittedUntil));
        Assert.Contains(manifest.Files, f => f.Path == "outbound/log/relay.log.0");

        await using (var archive = File.OpenRead(copy.Combine("backup.tar")))
        {
            await BackupArchive.ExtractAsync(archive, copy.Combine("unpacked"), null, Timeout());
        }

        await BackupRestore.RestoreAsync(copy.Combine("unpacked"), copy.Combine("restored"), null, Timeout());
        await using var restored = await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(copy.Combine("restored", "outbound")), time);

        // At the commit point all two hundred were queued: the settles and the later message came after it.
        var messages = restored.GetQueued();
        Assert.Equal(queued.Keys.Order(), messages.Select(m => m.SendId).Order());
        foreach (var message in messages)
        {
            var request = queued[message.SendId];
            Assert.Equal(request.Ciphertext.ToArray(), message.Ciphertext.ToArray());
            Assert.Equal(request.EphemeralAddress.ToArray(), message.EphemeralAddress.ToArray());
            Assert.Equal((request.Owner, request.Endpoint), (message.Owner, message.Endpoint));
            Assert.True(restored.TryGetStatus(message.SendId, out var status));
            Assert.Equal(OutboundState.Queued, status.State);
        }

        Assert.DoesNotContain(later, messages.Select(m => m.SendId));
    }
}
