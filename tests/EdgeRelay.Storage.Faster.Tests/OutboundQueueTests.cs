using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;

namespace EdgeRelay.Storage.Faster.Tests;

/// <summary>The FASTER outbound queue at one temporary folder; a crash is the folder's files as they are at that instant.</summary>
public sealed class FasterOutboundBackend : OutboundBackend
{
    private readonly List<TempDirectory> _directories = [new TempDirectory("edgerelay-outbound")];

    public string Directory => _directories[^1].Path;

    public override async Task<IOutboundQueue> OpenAsync(Action<OutboundLimits>? limits = null) =>
        await FasterOutboundQueue.OpenAsync(Options(Directory, limits), Time);

    public override async Task<IOutboundQueue> CrashAndReopenAsync(IOutboundQueue queue, Action<OutboundLimits>? limits = null)
    {
        _directories.Add(_directories[^1].CopyAsIs("edgerelay-outbound-crash"));
        await queue.DisposeAsync(); // writes to the old folder only; the copy is what the crash left
        return await OpenAsync(limits);
    }

    public static FasterOutboundQueueOptions Options(string directory, Action<OutboundLimits>? limits = null, Action<FasterOutboundQueueOptions>? configure = null)
    {
        var options = new FasterOutboundQueueOptions
        {
            Directory = directory,
            PageSizeBits = 14,
            MemorySizeBits = 17,
            SegmentSizeBits = 16,
            MaxPayloadBytes = 4096,
            MaintenanceInterval = TimeSpan.FromHours(1), // tests run maintenance themselves
        };
        limits?.Invoke(options);
        configure?.Invoke(options);
        return options;
    }

    public override ValueTask DisposeAsync()
    {
        foreach (var directory in _directories)
        {
            directory.Dispose();
        }

        return default;
    }
}

public sealed class FasterOutboundQueueConformance : OutboundQueueConformance
{
    protected override OutboundBackend CreateBackend() => new FasterOutboundBackend();
}

/// <summary>What only the FASTER outbound queue has: commit before the ticket, the log's span kept bounded, refusals at open.</summary>
public sealed class OutboundQueueTests : IDisposable
{
    private readonly TempDirectory _directory = new("edgerelay-outbound");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_crash_keeps_every_message_whose_ticket_was_durable()
    {
        var clock = TestStore.Clock();
        var queue = await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(_directory.Path), clock);
        var durable = new List<long>();
        for (var i = 0; i < 50; i++)
        {
            var result = await queue.EnqueueAsync(OutboundQueueConformance.Request(i));
            if (i % 10 == 9)
            {
                await queue.WaitDurableAsync(result.Ticket).AsTask().Within();
                durable.Add(result.SendId);
            }
        }

        Assert.True(queue.IsDurable(DurabilityTicket.At(durable[^1])));
        using var crashed = _directory.CopyAsIs();
        await queue.DisposeAsync();

        await using var reopened = await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(crashed.Path), clock);
        var ids = reopened.GetQueued().Select(m => m.SendId).ToHashSet();
        Assert.Subset(ids, durable.ToHashSet());
        Assert.Equal(ids.Order(), reopened.GetQueued().Select(m => m.SendId)); // still in id order
    }

    [Fact]
    public async Task One_message_queued_for_days_does_not_keep_the_log_from_shrinking()
    {
        var clock = TestStore.Clock();
        var options = FasterOutboundBackend.Options(_directory.Path, l => l.SettledRetention = TimeSpan.FromHours(1), o => o.CompactionSpanBytes = 1 << 16);
        var queue = await FasterOutboundQueue.OpenAsync(options, clock);
        var stuck = (await queue.EnqueueAsync(OutboundQueueConformance.Request(0, endpoint: "down.test:1", length: 2000))).SendId;
        var held = (await queue.EnqueueAsync(OutboundQueueConformance.Request(0, endpoint: "down.test:1", length: 2000) with { BatchIntervalMs = 3_600_000 })).SendId;
        for (var i = 1; i <= 400; i++)
        {
            var sent = await queue.EnqueueAsync(OutboundQueueConformance.Request(i, length: 2000));
            await queue.SettleAsync(sent.SendId, OutboundState.Delivered, 0);
        }

        await queue.FlushAsync();
        var before = queue.GetStatistics().StoredBytes;
        clock.Advance(TimeSpan.FromHours(2)); // every status is past its retention
        await queue.RunMaintenanceAsync();
        await queue.RunMaintenanceAsync();

        var after = queue.GetStatistics().StoredBytes;
        Assert.True(after < before / 10, $"the log still spans {after} bytes (was {before})");
        await queue.DisposeAsync();

        await using var reopened = await FasterOutboundQueue.OpenAsync(options, clock);
        Assert.Equal([stuck, held], reopened.GetQueued().Select(m => m.SendId));
        foreach (var message in reopened.GetQueued())
        {
            Assert.Equal("down.test:1", message.Endpoint);
            Assert.Equal(OutboundQueueConformance.Request(0, length: 2000).Ciphertext.ToArray(), message.Ciphertext.ToArray());
            Assert.Equal(TestStore.Start.ToUnixTimeMilliseconds(), message.QueuedAtUnixMs); // the copy keeps its age
        }

        // ... and its release time: a held copy is still held until the hour it was queued for.
        Assert.Equal(
            [TestStore.Start.ToUnixTimeMilliseconds(), TestStore.Start.AddHours(1).ToUnixTimeMilliseconds()],
            reopened.GetQueued().Select(m => m.ReleaseAtUnixMs));
    }

    [Fact]
    public async Task Statuses_carried_forward_survive_the_truncation_of_their_messages()
    {
        var clock = TestStore.Clock();
        var options = FasterOutboundBackend.Options(_directory.Path, configure: o => o.CompactionSpanBytes = 1 << 16);

        // Each step is bounded and named: a store that stops answering fails the test at that step.
        var queue = await Eventually.Within(FasterOutboundQueue.OpenAsync(options, clock), "the queue to open");
        var first = (await Eventually.Within(queue.EnqueueAsync(OutboundQueueConformance.Request(1, length: 3000)).AsTask(), "the first enqueue")).SendId;
        await Eventually.Within(queue.SettleAsync(first, OutboundState.Failed, 23).AsTask(), "the first settle");
        for (var i = 2; i <= 200; i++)
        {
            var sent = await Eventually.Within(queue.EnqueueAsync(OutboundQueueConformance.Request(i, length: 3000)).AsTask(), $"enqueue {i}");
            await Eventually.Within(queue.SettleAsync(sent.SendId, OutboundState.Delivered, 0).AsTask(), $"settle {i}");
        }

        await Eventually.Within(queue.RunMaintenanceAsync(), "the first maintenance pass");
        await Eventually.Within(queue.RunMaintenanceAsync(), "the second maintenance pass");
        Assert.True(queue.GetStatistics().StoredBytes < 200 * 3000);
        await Eventually.Within(queue.DisposeAsync().AsTask(), "the queue to close");

        await using var reopened = await Eventually.Within(FasterOutboundQueue.OpenAsync(options, clock), "the queue to reopen");
        Assert.True(reopened.TryGetStatus(first, out var status));
        Assert.Equal((OutboundState.Failed, (ushort)23, "token-a"), (status.State, status.Code, status.Owner));
        Assert.Equal(200, reopened.GetStatistics().SettledRetained);
    }

    [Fact]
    public void A_message_forwarded_at_once_is_written_in_the_original_layout_and_a_held_one_with_its_release_time()
    {
        byte[] pin = [];
        var ephemeral = Enumerable.Repeat((byte)7, OutboundRequest.EphemeralAddressLength).ToArray();
        byte[] ciphertext = [0xC1, 0xC2];
        byte[] tail = [1, (byte)'o', 3, (byte)'b', (byte)':', (byte)'1', 0, .. ephemeral, 0, 0, 0, 2, 0xC1, 0xC2];
        byte[] idAndQueuedAt = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8]; // send id 0 (the record's address), queued at 1000 ms

        // Kind 1, as every earlier version wrote it: logs written before the batched mode still replay.
        var immediate = OutboundRecords.Queued(0, 1000, 1000, "o", "b:1", pin, ephemeral, ciphertext);
        Assert.Equal([OutboundRecords.QueuedKind, .. idAndQueuedAt, .. tail], immediate);
        Assert.Equal((4096L, 1000L, 1000L), Read(immediate));

        // Kind 3: the release time right after the queue time.
        var held = OutboundRecords.Queued(0, 1000, 30_000, "o", "b:1", pin, ephemeral, ciphertext);
        Assert.Equal([OutboundRecords.HeldKind, .. idAndQueuedAt, 0, 0, 0, 0, 0, 0, 0x75, 0x30, .. tail], held);
        Assert.Equal((4096L, 1000L, 30_000L), Read(held));

        // A held record released no later than it was queued was not written by this store.
        held[23] = 0x03;
        held[24] = 0x00; // release 0x0300: 768 ms, before the 1000 ms it was queued at
        Assert.Throws<InvalidDataException>(() => OutboundRecords.ReadQueued(held, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => OutboundRecords.Queued(0, 1000, 999, "o", "b:1", pin, ephemeral, ciphertext));

        static (long, long, long) Read(byte[] record)
        {
            var message = OutboundRecords.ReadQueued(record, 4096);
            return (message.SendId, message.QueuedAtUnixMs, message.ReleaseAtUnixMs);
        }
    }

    [Fact]
    public async Task A_second_queue_on_the_same_folder_is_refused()
    {
        await using var queue = await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(_directory.Path), TestStore.Clock());

        await Assert.ThrowsAsync<IOException>(() => FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(_directory.Path), TestStore.Clock()));
    }

    [Fact]
    public async Task A_folder_of_another_format_is_refused()
    {
        await (await FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(_directory.Path), TestStore.Clock())).DisposeAsync();
        await File.WriteAllTextAsync(_directory.Combine("outbound.format"), "something else 9\n");

        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => FasterOutboundQueue.OpenAsync(FasterOutboundBackend.Options(_directory.Path), TestStore.Clock()));
        Assert.Contains("something else 9", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_page_too_small_for_the_largest_record_is_refused()
    {
        var options = FasterOutboundBackend.Options(_directory.Path, configure: o => o.MaxPayloadBytes = 16 * 1024);

        var refused = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal("MaxPayloadBytes", refused.ParamName);
        Assert.Equal(15, FasterOutboundQueueOptions.PageSizeBitsFor(16 * 1024, 14));
    }
}
