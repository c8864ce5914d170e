using EdgeRelay.Storage;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRelay.Testing.Conformance;

/// <summary>One place where an outbound queue backend keeps its data, for one conformance test.</summary>
public abstract class OutboundBackend : IAsyncDisposable
{
    /// <summary>The queue's clock; tests advance it instead of waiting.</summary>
    public FakeTimeProvider Time { get; } = new(StorageBackend.Start);

    /// <summary>Opens the queue at this place (the first time: empty) with <paramref name="limits"/> applied to generous defaults. The previous queue must be closed.</summary>
    public abstract Task<IOutboundQueue> OpenAsync(Action<OutboundLimits>? limits = null);

    /// <summary>The process dies now: <paramref name="queue"/> is gone without a final flush, and a queue is opened on what its media held.</summary>
    public abstract Task<IOutboundQueue> CrashAndReopenAsync(IOutboundQueue queue, Action<OutboundLimits>? limits = null);

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// The <see cref="IOutboundQueue"/> contract, run unchanged against every backend (the in-memory one of the
/// tests, FASTER): ids, limits, settling once, retention, and what survives a restart or a crash.
/// </summary>
public abstract class OutboundQueueConformance : IAsyncLifetime
{
    private IOutboundQueue? _queue;

    protected OutboundQueueConformance()
    {
        Backend = CreateBackend();
    }

    protected OutboundBackend Backend { get; }

    protected IOutboundQueue Queue => _queue ?? throw new InvalidOperationException("Not open.");

    protected FakeTimeProvider Time => Backend.Time;

    public async Task InitializeAsync() => _queue = await Backend.OpenAsync();

    public async Task DisposeAsync()
    {
        if (_queue is not null)
        {
            await _queue.DisposeAsync();
        }

        await Backend.DisposeAsync();
    }

    public static OutboundRequest Request(int seed, string owner = "token-a", string endpoint = "relay-b.test:7400", int length = 100, bool pin = false)
    {
        var ephemeral = new byte[OutboundRequest.EphemeralAddressLength];
        ephemeral[0] = 1;
        ephemeral[1] = (byte)seed;
        var ciphertext = new byte[length];
        for (var i = 0; i < ciphertext.Length; i++)
        {
            ciphertext[i] = (byte)(seed + i);
        }

        return new OutboundRequest(owner, endpoint, pin ? Enumerable.Repeat((byte)seed, 32).ToArray() : ReadOnlyMemory<byte>.Empty, ephemeral, ciphertext);
    }

    [Fact]
    public async Task Queued_messages_are_listed_in_id_order_with_everything_they_carry()
    {
        var first = await EnqueueDurableAsync(Request(1, pin: true));
        Time.Advance(TimeSpan.FromSeconds(3));
        var second = await EnqueueDurableAsync(Request(2, owner: "token-b", endpoint: "[2001:db8::1]:7400"));

        Assert.True(second > first && first > 0);
        var queued = Queue.GetQueued();
        Assert.Equal([first, second], queued.Select(m => m.SendId));
        AssertCarries(Request(1, pin: true), queued[0]);
        AssertCarries(Request(2, owner: "token-b", endpoint: "[2001:db8::1]:7400"), queued[1]);
        Assert.Equal(StorageBackend.Start.ToUnixTimeMilliseconds(), queued[0].QueuedAtUnixMs);
        Assert.Equal(StorageBackend.Start.AddSeconds(3).ToUnixTimeMilliseconds(), queued[1].QueuedAtUnixMs);
        Assert.True(Queue.TryGetStatus(first, out var status));
        Assert.Equal(new OutboundStatus(first, "token-a", OutboundState.Queued, 0, queued[0].QueuedAtUnixMs, 0), status);
    }

    [Fact]
    public async Task A_message_settles_once_and_keeps_its_code()
    {
        var delivered = await EnqueueDurableAsync(Request(1));
        var failed = await EnqueueDurableAsync(Request(2));
        Time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(SettleStatus.Settled, (await SettleDurableAsync(delivered, OutboundState.Delivered, 0)).Status);
        Assert.Equal(SettleStatus.Settled, (await SettleDurableAsync(failed, OutboundState.Failed, 22)).Status);
        var again = await Queue.SettleAsync(delivered, OutboundState.Failed, 54);
        var unknown = await Queue.SettleAsync(failed + 1000, OutboundState.Delivered, 0);

        Assert.Equal(new WriteResult<SettleStatus>(SettleStatus.NotQueued, DurabilityTicket.None), again);
        Assert.Equal(SettleStatus.NotQueued, unknown.Status);
        Assert.Empty(Queue.GetQueued());
        Assert.True(Queue.TryGetStatus(delivered, out var d));
        Assert.Equal((OutboundState.Delivered, (ushort)0, StorageBackend.Start.AddMinutes(1).ToUnixTimeMilliseconds()), (d.State, d.Code, d.SettledAtUnixMs));
        Assert.True(Queue.TryGetStatus(failed, out var f));
        Assert.Equal((OutboundState.Failed, (ushort)22, "token-a"), (f.State, f.Code, f.Owner));
        Assert.False(Queue.TryGetStatus(failed + 1000, out _));
    }

    [Fact]
    public async Task Settling_many_at_once_settles_each_queued_one_once_and_survives_a_crash()
    {
        var a = await EnqueueDurableAsync(Request(1));
        var b = await EnqueueDurableAsync(Request(2, owner: "token-b"));
        var c = await EnqueueDurableAsync(Request(3));
        var left = await EnqueueDurableAsync(Request(4));
        await SettleDurableAsync(b, OutboundState.Delivered, 0);
        Time.Advance(TimeSpan.FromMinutes(2));

        OutboundSettle[] settles = [new(a, OutboundState.Delivered, 7), new(b, OutboundState.Failed, 22), new(c, OutboundState.Failed, 54), new(left + 1000, OutboundState.Delivered, 0)];
        var results = new SettleStatus[settles.Length];
        var ticket = await Queue.SettleManyAsync(settles, results);
        await Queue.WaitDurableAsync(ticket).AsTask().Within();

        Assert.Equal([SettleStatus.Settled, SettleStatus.NotQueued, SettleStatus.Settled, SettleStatus.NotQueued], results);
        _queue = await Backend.CrashAndReopenAsync(Queue);
        Assert.Equal([left], Queue.GetQueued().Select(m => m.SendId));
        var settledAt = StorageBackend.Start.AddMinutes(2).ToUnixTimeMilliseconds();
        Assert.True(Queue.TryGetStatus(a, out var sa));
        Assert.Equal(new OutboundStatus(a, "token-a", OutboundState.Delivered, 0, StorageBackend.Start.ToUnixTimeMilliseconds(), settledAt), sa); // a delivery keeps no code
        Assert.True(Queue.TryGetStatus(b, out var sb));
        Assert.Equal((OutboundState.Delivered, (ushort)0, "token-b"), (sb.State, sb.Code, sb.Owner)); // settled before: the batch did not touch it
        Assert.True(Queue.TryGetStatus(c, out var sc));
        Assert.Equal((OutboundState.Failed, (ushort)54, settledAt), (sc.State, sc.Code, sc.SettledAtUnixMs));
    }

    [Fact]
    public async Task Settling_many_refuses_a_state_that_is_not_final_or_too_few_result_slots_and_writes_nothing()
    {
        var id = await EnqueueDurableAsync(Request(1));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Queue.SettleManyAsync([new(id, OutboundState.Queued, 0)], new SettleStatus[1]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await Queue.SettleManyAsync([new(id, OutboundState.Delivered, 0)], []));
        Assert.Equal([id], Queue.GetQueued().Select(m => m.SendId));
    }

    [Fact]
    public async Task A_queued_message_does_not_share_memory_with_the_request_it_came_from()
    {
        var request = Request(1, pin: true);
        await EnqueueDurableAsync(request);

        // A session hands the queue a body it reuses once the call returns.
        Overwrite(request.Ciphertext);
        Overwrite(request.EphemeralAddress);
        Overwrite(request.Pin);

        AssertCarries(Request(1, pin: true), Assert.Single(Queue.GetQueued()));
    }

    [Fact]
    public async Task The_queue_refuses_past_its_limits_and_settling_makes_room()
    {
        await Queue.DisposeAsync();
        _queue = await Backend.OpenAsync(l =>
        {
            l.MaxQueuedMessages = 3;
            l.MaxQueuedBytes = 1000;
            l.MaxQueuedPerOwner = 2;
        });

        var a1 = await EnqueueDurableAsync(Request(1, owner: "a", length: 400));
        await EnqueueDurableAsync(Request(2, owner: "a", length: 100));
        Assert.Equal(OutboundEnqueueStatus.OwnerQuota, (await Queue.EnqueueAsync(Request(3, owner: "a", length: 1))).Status);
        Assert.Equal(OutboundEnqueueStatus.QueueFull, (await Queue.EnqueueAsync(Request(4, owner: "b", length: 501))).Status);
        await EnqueueDurableAsync(Request(5, owner: "b", length: 500));
        Assert.Equal(OutboundEnqueueStatus.QueueFull, (await Queue.EnqueueAsync(Request(6, owner: "c", length: 1))).Status);
        Assert.Equal(3, Queue.GetQueued().Count);
        Assert.Equal(new OutboundStatistics(3, 1000, 0, Queue.GetStatistics().StoredBytes), Queue.GetStatistics());

        await SettleDurableAsync(a1, OutboundState.Delivered, 0);
        Assert.Equal(OutboundEnqueueStatus.Queued, (await Queue.EnqueueAsync(Request(7, owner: "a", length: 400))).Status);
    }

    [Fact]
    public async Task A_settled_status_is_kept_for_its_retention_and_forgotten_after()
    {
        await Queue.DisposeAsync();
        _queue = await Backend.OpenAsync(l => l.SettledRetention = TimeSpan.FromDays(7));
        var early = await EnqueueDurableAsync(Request(1));
        var late = await EnqueueDurableAsync(Request(2));
        var queued = await EnqueueDurableAsync(Request(3));
        await SettleDurableAsync(early, OutboundState.Delivered, 0);
        Time.Advance(TimeSpan.FromDays(1));
        await SettleDurableAsync(late, OutboundState.Failed, 54);

        Time.Advance(TimeSpan.FromDays(6) - TimeSpan.FromMilliseconds(1));
        await Queue.RunMaintenanceAsync();
        Assert.True(Queue.TryGetStatus(early, out _));

        Time.Advance(TimeSpan.FromMilliseconds(1));
        await Queue.RunMaintenanceAsync();
        Assert.False(Queue.TryGetStatus(early, out _));
        Assert.True(Queue.TryGetStatus(late, out _));
        Assert.True(Queue.TryGetStatus(queued, out var stillQueued));
        Assert.Equal(OutboundState.Queued, stillQueued.State); // retention never drops a queued message
        Assert.Equal(1, Queue.GetStatistics().SettledRetained);
    }

    [Fact]
    public async Task A_restart_keeps_queued_messages_and_statuses_and_never_reuses_an_id()
    {
        var settled = await EnqueueDurableAsync(Request(1));
        var queued = await EnqueueDurableAsync(Request(2, length: 3000));
        await SettleDurableAsync(settled, OutboundState.Failed, 24);

        _queue = await Backend.CrashAndReopenAsync(Queue);

        AssertCarries(Request(2, length: 3000), Assert.Single(Queue.GetQueued()));
        Assert.True(Queue.TryGetStatus(settled, out var status));
        Assert.Equal((OutboundState.Failed, (ushort)24), (status.State, status.Code));
        await SettleDurableAsync(queued, OutboundState.Delivered, 0);
        Time.Advance(TimeSpan.FromDays(30));
        await Queue.RunMaintenanceAsync();

        _queue = await Backend.CrashAndReopenAsync(Queue);
        Assert.False(Queue.TryGetStatus(settled, out _));
        Assert.Empty(Queue.GetQueued());
        var next = await EnqueueDurableAsync(Request(3));
        Assert.True(next > queued, $"id {next} handed out again after {queued}");
    }

    [Fact]
    public async Task A_batched_message_keeps_the_release_time_it_was_queued_with_across_a_crash()
    {
        // 12.345 s into a 30-second interval (the epoch's multiples: Start is one): released at its end.
        Time.Advance(TimeSpan.FromMilliseconds(12_345));
        var queuedAt = Time.GetUtcNow().ToUnixTimeMilliseconds();
        var releaseAt = StorageBackend.Start.AddSeconds(30).ToUnixTimeMilliseconds();
        var batched = await Queue.EnqueueAsync(Request(1) with { BatchIntervalMs = 30_000 });
        var immediate = await Queue.EnqueueAsync(Request(2));
        await Queue.WaitDurableAsync(DurabilityTicket.Latest(batched.Ticket, immediate.Ticket)).AsTask().Within();

        Assert.Equal((queuedAt, releaseAt, true), (batched.Message!.QueuedAtUnixMs, batched.Message.ReleaseAtUnixMs, batched.Message.IsHeld));
        Assert.Equal((queuedAt, queuedAt, false), (immediate.Message!.QueuedAtUnixMs, immediate.Message.ReleaseAtUnixMs, immediate.Message.IsHeld));
        Assert.Equal(batched.SendId, batched.Message.SendId);
        AssertCarries(Request(1), batched.Message);

        // The clock moves past the release; what the queue lists after a crash still says when each was due.
        Time.Advance(TimeSpan.FromMinutes(5));
        _queue = await Backend.CrashAndReopenAsync(Queue);

        var queued = Queue.GetQueued();
        Assert.Equal([(batched.SendId, queuedAt, releaseAt), (immediate.SendId, queuedAt, queuedAt)], queued.Select(m => (m.SendId, m.QueuedAtUnixMs, m.ReleaseAtUnixMs)));
        AssertCarries(Request(1), queued[0]);
        Assert.True(Queue.TryGetStatus(batched.SendId, out var status));
        Assert.Equal(OutboundState.Queued, status.State);
    }

    protected async Task<long> EnqueueDurableAsync(OutboundRequest request)
    {
        var result = await Queue.EnqueueAsync(request);
        Assert.Equal(OutboundEnqueueStatus.Queued, result.Status);
        await Queue.WaitDurableAsync(result.Ticket).AsTask().Within();
        return result.SendId;
    }

    protected async Task<WriteResult<SettleStatus>> SettleDurableAsync(long sendId, OutboundState state, ushort code)
    {
        var result = await Queue.SettleAsync(sendId, state, code);
        await Queue.WaitDurableAsync(result.Ticket).AsTask().Within();
        return result;
    }

    protected static void AssertCarries(OutboundRequest expected, OutboundMessage actual)
    {
        Assert.Equal(expected.Owner, actual.Owner);
        Assert.Equal(expected.Endpoint, actual.Endpoint);
        Assert.Equal(expected.Pin.ToArray(), actual.Pin.ToArray());
        Assert.Equal(expected.EphemeralAddress.ToArray(), actual.EphemeralAddress.ToArray());
        Assert.Equal(expected.Ciphertext.ToArray(), actual.Ciphertext.ToArray());
    }

    protected abstract OutboundBackend CreateBackend();

    private static void Overwrite(ReadOnlyMemory<byte> memory) => System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory).Span.Fill(0xEE);
}
