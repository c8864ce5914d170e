using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeRelay.Storage;
using EdgeRelay.Testing;
using EdgeRelay.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRelay.Delivery.Tests;

/// <summary>
/// A push hub over the in-memory storage and a fake clock, with targets that check, at the moment of each
/// delivery, what must hold then (the message is durable, no other live target holds it, the address'
/// policy allows it, a batched window has passed). Invariants checked when things happen replace sleeps that
/// hope nothing happens: a delivery that breaks one is recorded and fails the test.
/// </summary>
internal sealed class PushFixture : IAsyncDisposable
{
    private readonly ConcurrentDictionary<MessageId, FakeTarget> _holders = new();
    private readonly ConcurrentDictionary<AddressId, long> _lastPush = new();

    public PushFixture(DeliveryOptions? options = null, IWakeupNotifier? notifier = null, IDeliveryCoordination? coordination = null)
    {
        Time = new ObservableClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Storage = InMemoryStorage.Open(time: Time);
        Hub = new PushHub(Storage, Storage, Storage, options ?? new DeliveryOptions { PerMessageOverhead = 16 }, Time, NullLogger.Instance, notifier, coordination);
    }

    public ObservableClock Time { get; }

    public InMemoryStorage Storage { get; }

    public PushHub Hub { get; }

    public ConcurrentQueue<string> Violations { get; } = new();

    public async Task<AddressId> CreateAddressAsync(DeliveryPolicy? policy = null, string? notify = null)
    {
        var aid = AddressId.NewRandom();
        await Storage.WaitDurableAsync(await Storage.CreateAddressAsync(aid, new byte[32], Time.GetUtcNow().AddDays(1).ToUnixTimeSeconds()));
        if (policy is { } set)
        {
            await Storage.WaitDurableAsync((await Storage.SetPolicyAsync(aid, set)).Ticket);
        }

        if (notify is not null)
        {
            await Storage.WaitDurableAsync((await Storage.SetNotifyEndpointAsync(aid, notify)).Ticket);
        }

        return aid;
    }

    /// <summary>Appends a message and tells the hub, as a session does after a SEND.</summary>
    public (MessageId Id, DurabilityTicket Ticket) Send(AddressId aid, int seed)
    {
        Assert.Equal(AppendStatus.Appended, Storage.TryAppend(aid, Payload(seed), out var id, out var ticket));
        Hub.OnAppended(aid, ticket);
        return (id, ticket);
    }

    public static byte[] Payload(int seed) => BitConverter.GetBytes(seed);

    public FakeTarget Target(string name) => new(name, this);

    /// <summary>The owner acknowledged these: gone from the storage and from the hub's in-flight map.</summary>
    public async Task AckAsync(AddressId aid, params MessageId[] ids)
    {
        foreach (var id in ids)
        {
            _holders.TryRemove(id, out _);
        }

        var (status, ticket) = await Storage.AckAsync(aid, ids);
        Assert.Equal(AckStatus.Acked, status);
        Hub.OnAcked(aid, ids);
        await Storage.WaitDurableAsync(ticket);
    }

    /// <summary>The target's subscription ended: what it held may go elsewhere.</summary>
    public void Unsubscribe(Subscription subscription, FakeTarget target)
    {
        foreach (var pair in _holders)
        {
            if (pair.Value == target)
            {
                _holders.TryRemove(pair);
            }
        }

        Hub.Unsubscribe(subscription);
    }

    public void AssertNoViolation() => Assert.Empty(Violations);

    public async ValueTask DisposeAsync()
    {
        Storage.ReleaseFlushes();
        await Storage.DisposeAsync();
    }

    internal void Check(FakeTarget target, AddressId aid, PendingMessage message)
    {
        if (!Storage.IsDurable(DurabilityTicket.At(message.Id.Value)))
        {
            Violations.Enqueue($"message {message.Id} was delivered to {target.Name} before it was durable");
        }

        if (!_holders.TryAdd(message.Id, target) && _holders.TryGetValue(message.Id, out var holder) && holder != target)
        {
            Violations.Enqueue($"message {message.Id} was delivered to {target.Name} while {holder.Name} held it");
        }

    }

    /// <summary>What must hold of a whole delivery: the policy allows pushing, and a batched window has passed since both the previous push and the oldest message in it.</summary>
    internal void CheckBatch(AddressId aid, PendingMessage[] batch)
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!Storage.TryGetAddress(aid, out var info))
        {
            return;
        }

        if (info.Policy.Kind == DeliveryPolicyKind.PullOnly)
        {
            Violations.Enqueue($"{batch.Length} messages were pushed while the address was pull-only");
        }

        if (info.Policy.Kind == DeliveryPolicyKind.Batched)
        {
            var window = info.Policy.WindowMilliseconds;
            var oldest = batch.Min(m => m.ReceivedAtUnixMs);
            if (now < oldest + window)
            {
                Violations.Enqueue($"a delivery came {now - oldest} ms after its oldest message arrived, inside the {window} ms window");
            }

            if (_lastPush.TryGetValue(aid, out var last) && now < last + window)
            {
                Violations.Enqueue($"a delivery came {now - last} ms after the previous one, inside the {window} ms window");
            }
        }

        _lastPush[aid] = now;
    }
}

/// <summary>A delivery target that records what it got (one entry per delivery) and lets a test choose the outcome.</summary>
internal sealed class FakeTarget(string name, PushFixture fixture) : IDeliveryTarget
{
    private readonly Channel<PendingMessage[]> _deliveries = Channel.CreateUnbounded<PendingMessage[]>();
    private readonly ConcurrentQueue<PendingMessage> _received = new();
    private int _attempts;

    public string Name { get; } = name;

    public DeliveryOutcome Outcome { get; set; } = DeliveryOutcome.Sent;

    public PendingMessage[] Received => [.. _received];

    /// <summary>Deliveries tried, whatever their outcome.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    public async ValueTask<DeliveryOutcome> DeliverAsync(AddressId aid, ReadOnlyMemory<PendingMessage> messages, IMessageQueue queue)
    {
        var batch = messages.ToArray();
        Interlocked.Increment(ref _attempts);
        if (Outcome != DeliveryOutcome.Sent)
        {
            return Outcome;
        }

        fixture.CheckBatch(aid, batch);
        foreach (var message in batch)
        {
            fixture.Check(this, aid, message);
            var buffer = new byte[message.Length];
            if (await queue.ReadAsync(aid, message, buffer) != message.Length)
            {
                fixture.Violations.Enqueue($"message {message.Id} could not be read back");
            }

            _received.Enqueue(message);
        }

        await _deliveries.Writer.WriteAsync(batch);
        return DeliveryOutcome.Sent;
    }

    /// <summary>The next delivery (one batch), waiting for it at most <see cref="Bounds.Patience"/>.</summary>
    public Task<PendingMessage[]> NextAsync() => _deliveries.Reader.ReadAsync().AsTask().Within();

    /// <summary>Deliveries until <paramref name="count"/> messages have arrived in all.</summary>
    public async Task<List<PendingMessage>> ReceiveAsync(int count)
    {
        var all = new List<PendingMessage>();
        while (all.Count < count)
        {
            all.AddRange(await NextAsync());
        }

        return all;
    }

    public bool HasPendingDelivery => _deliveries.Reader.TryPeek(out _);
}
