using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Conformance;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// What only the JetStream outbound queue has: several nodes on one stream agree on what is queued and how each
/// message settled, and the stream gives back what settled messages no longer need. The conformance suite checks
/// one queue; these check that the queues agree.
/// </summary>
public sealed class OutboundQueueTests : IAsyncLifetime
{
    private readonly JetStreamOutboundBackend _backend = new();
    private readonly List<IOutboundQueue> _queues = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    [SkippableFact]
    public async Task A_second_node_sees_the_first_ones_queued_and_settled_messages_and_ids_stay_increasing()
    {
        var a = await OpenAsync();
        var first = await EnqueueDurableAsync(a, OutboundQueueConformance.Request(1, pin: true));
        var b = await OpenAsync(); // reads the stream from its start
        var second = await EnqueueDurableAsync(a, OutboundQueueConformance.Request(2, owner: "token-b"));

        await Eventually.TrueAsync(() => b.GetQueued().Count == 2, "node B lists node A's two messages");
        Assert.Equal(a.GetQueued(), b.GetQueued(), MessageComparer.Instance);
        Assert.True(b.TryGetStatus(second, out var status));
        Assert.Equal(new OutboundStatus(second, "token-b", OutboundState.Queued, 0, _backend.Time.GetUtcNow().ToUnixTimeMilliseconds(), 0), status);

        // B forwards one and settles it; A stops listing it and answers its state.
        var settled = await b.SettleAsync(first, OutboundState.Failed, 22);
        Assert.Equal(SettleStatus.Settled, settled.Status);
        await b.WaitDurableAsync(settled.Ticket).AsTask().Within();
        await Eventually.TrueAsync(() => a.TryGetStatus(first, out var s) && s.State == OutboundState.Failed, "node A sees node B's settle");
        Assert.Equal([second], a.GetQueued().Select(m => m.SendId));
        Assert.Equal(SettleStatus.NotQueued, (await a.SettleAsync(first, OutboundState.Delivered, 0)).Status);

        // An id taken on B after A's enqueues returned is later than theirs: ids increase across nodes too.
        var third = await EnqueueDurableAsync(b, OutboundQueueConformance.Request(3));
        Assert.True(third > second, $"id {third} on node B is not after {second} on node A");
        await Eventually.TrueAsync(() => a.GetStatistics().QueuedMessages == 2, "node A counts node B's message");
    }

    [SkippableFact]
    public async Task Two_nodes_settling_one_message_at_once_end_with_the_same_state()
    {
        var a = await OpenAsync();
        var b = await OpenAsync();
        var id = await EnqueueDurableAsync(a, OutboundQueueConformance.Request(1));
        await Eventually.TrueAsync(() => b.GetQueued().Count == 1, "node B lists the message");

        // Each node settles it before it sees the other's settle: both answer Settled, the stream decides.
        var byA = await a.SettleAsync(id, OutboundState.Delivered, 0);
        var byB = await b.SettleAsync(id, OutboundState.Failed, 54);
        Assert.Equal((SettleStatus.Settled, SettleStatus.Settled), (byA.Status, byB.Status));
        await Task.WhenAll(a.WaitDurableAsync(byA.Ticket).AsTask(), b.WaitDurableAsync(byB.Ticket).AsTask()).Within();

        await Eventually.TrueAsync(() => a.TryGetStatus(id, out var sa) && b.TryGetStatus(id, out var sb) && sa == sb, "both nodes answer the same state");
        var c = await OpenAsync(); // a node that starts later reads the same
        Assert.True(a.TryGetStatus(id, out var expected));
        Assert.True(c.TryGetStatus(id, out var late));
        Assert.Equal(expected, late);
        Assert.Empty(c.GetQueued());
    }

    [SkippableFact]
    public async Task The_stream_keeps_what_is_queued_and_retained_and_a_reopen_keeps_the_queued_ones()
    {
        var queue = await OpenAsync(l => l.SettledRetention = TimeSpan.FromDays(1));
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await EnqueueDurableAsync(queue, OutboundQueueConformance.Request(i)));
        }

        var results = new SettleStatus[2];
        var ticket = await queue.SettleManyAsync([new(ids[0], OutboundState.Delivered, 0), new(ids[1], OutboundState.Failed, 22)], results);
        await queue.WaitDurableAsync(ticket).AsTask().Within();

        // The settled ones' queued records go (their statuses live in the settle records): 2 queued + 2 settles.
        await Eventually.TrueAsync(async () => await _backend.StreamMessagesAsync() == 4, "the stream holds two queued and two settle records");

        // Past retention the settle records go too; the queued ones stay, across a crash.
        _backend.Time.Advance(TimeSpan.FromDays(1));
        await queue.RunMaintenanceAsync();
        Assert.False(queue.TryGetStatus(ids[0], out _));
        await Eventually.TrueAsync(async () => await _backend.StreamMessagesAsync() == 2, "the stream holds the two queued records");

        var stored = queue.GetStatistics().StoredBytes;
        _queues.Remove(queue);
        var reopened = await _backend.CrashAndReopenAsync(queue);
        _queues.Add(reopened);
        Assert.Equal(ids[2..], reopened.GetQueued().Select(m => m.SendId));
        Assert.Equal(new OutboundStatistics(2, 200, 0, stored), reopened.GetStatistics());
    }

    [SkippableFact]
    public async Task Past_retention_a_node_deletes_the_settle_records_of_writers_gone_since_and_the_stream_empties()
    {
        var queue = await OpenAsync(l => l.SettledRetention = TimeSpan.FromDays(1));
        var id = await EnqueueDurableAsync(queue, OutboundQueueConformance.Request(1));
        var settled = await queue.SettleAsync(id, OutboundState.Delivered, 0);
        await queue.WaitDurableAsync(settled.Ticket).AsTask().Within();
        await Eventually.TrueAsync(async () => await _backend.StreamMessagesAsync() == 1, "the stream holds the settle record alone");

        // The writer restarts (a new writer id) before the retention ends: the node after it deletes the record anyway.
        _queues.Remove(queue);
        var restarted = await _backend.CrashAndReopenAsync(queue, l => l.SettledRetention = TimeSpan.FromDays(1));
        _queues.Add(restarted);
        Assert.True(restarted.TryGetStatus(id, out _));
        _backend.Time.Advance(TimeSpan.FromDays(1));
        await restarted.RunMaintenanceAsync();
        Assert.False(restarted.TryGetStatus(id, out _));
        await Eventually.TrueAsync(async () => await _backend.StreamMessagesAsync() == 0, "the stream to be empty");
    }

    [SkippableFact]
    public async Task A_ciphertext_too_large_for_a_nats_message_is_refused_before_anything_is_written()
    {
        var queue = await OpenAsync();
        var tooLarge = OutboundQueueConformance.Request(1, length: ((JetStreamOutboundQueue)queue).MaxCiphertextBytes + 1);

        await Assert.ThrowsAsync<ArgumentException>(async () => await queue.EnqueueAsync(tooLarge));

        // Nothing of it was batched either: the next round stores the next message alone.
        await EnqueueDurableAsync(queue, OutboundQueueConformance.Request(2));
        Assert.Equal(1, await _backend.StreamMessagesAsync());
        Assert.Null(queue.Failure);
    }

    private static async Task<long> EnqueueDurableAsync(IOutboundQueue queue, OutboundRequest request)
    {
        var result = await queue.EnqueueAsync(request);
        Assert.Equal(OutboundEnqueueStatus.Queued, result.Status);
        await queue.WaitDurableAsync(result.Ticket).AsTask().Within();
        return result.SendId;
    }

    private async Task<IOutboundQueue> OpenAsync(Action<OutboundLimits>? limits = null)
    {
        var queue = await _backend.OpenQueueAsync(limits);
        _queues.Add(queue);
        return queue;
    }

    /// <summary>Messages compared by what they carry (their byte fields are memory, which records compare by reference).</summary>
    private sealed class MessageComparer : IEqualityComparer<OutboundMessage>
    {
        public static readonly MessageComparer Instance = new();

        public bool Equals(OutboundMessage? x, OutboundMessage? y) =>
            x is not null && y is not null && x.SendId == y.SendId && x.Owner == y.Owner && x.Endpoint == y.Endpoint
            && x.Pin.Span.SequenceEqual(y.Pin.Span) && x.EphemeralAddress.Span.SequenceEqual(y.EphemeralAddress.Span)
            && x.Ciphertext.Span.SequenceEqual(y.Ciphertext.Span) && x.QueuedAtUnixMs == y.QueuedAtUnixMs && x.ReleaseAtUnixMs == y.ReleaseAtUnixMs;

        public int GetHashCode(OutboundMessage obj) => obj.SendId.GetHashCode();
    }
}
