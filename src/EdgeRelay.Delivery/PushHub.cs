using System.Collections.Concurrent;
using EdgeRelay.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeRelay.Delivery;

/// <summary>
/// Push delivery for a whole relay: one <see cref="AddressPush"/> per address that has live subscribers,
/// and the wake-up decision for addresses that have none.
/// </summary>
/// <remarks>
/// The SEND path calls <see cref="OnAppended"/> once per stored message: a dictionary probe, and for a
/// subscribed address an interlocked maximum and at most one semaphore release. No allocation, no lock.
/// Everything else (reading the queue, handing messages to targets, timers of batched policies) happens on
/// the address' own pump task, off the ingest path.
/// </remarks>
public sealed class PushHub
{
    private readonly ConcurrentDictionary<AddressId, AddressPush> _addresses = new();

    // Last wake-up per address (a timestamp of the hub's TimeProvider). One wake-up covers a burst: the
    // next one waits for the owner to come back (pull or subscribe), or for the quiet period to pass.
    private readonly ConcurrentDictionary<AddressId, long> _lastWake = new();
    private readonly IWakeupNotifier? _notifier;
    private long _wakeups;
    private long _wakeupsSuppressed;

    /// <param name="coordination">Several nodes on one store: who pushes and who wakes (default: this node alone).</param>
    public PushHub(IAddressRegistry registry, IMessageQueue queue, IDurability durability, DeliveryOptions options, TimeProvider time, ILogger logger, IWakeupNotifier? notifier = null, IDeliveryCoordination? coordination = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(durability);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        Registry = registry;
        Queue = queue;
        Durability = durability;
        Options = options;
        Time = time;
        Logger = logger;
        _notifier = notifier;
        Coordination = coordination ?? SingleNodeCoordination.Instance;
    }

    /// <summary>Wake-ups handed to the notifier.</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>Messages that arrived for an offline owner already woken in the same burst.</summary>
    public long WakeupsSuppressed => Interlocked.Read(ref _wakeupsSuppressed);

    /// <summary>Subscriptions currently live, over all addresses.</summary>
    public int Subscribers
    {
        get
        {
            var n = 0;
            foreach (var pair in _addresses)
            {
                n += pair.Value.SubscriberCount;
            }

            return n;
        }
    }

    internal IAddressRegistry Registry { get; }

    internal IMessageQueue Queue { get; }

    internal IDurability Durability { get; }

    internal DeliveryOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal IDeliveryCoordination Coordination { get; }

    /// <summary>A message for <paramref name="aid"/> was appended (not yet durable; <paramref name="ticket"/> says when): push it, or wake the owner.</summary>
    public void OnAppended(AddressId aid, DurabilityTicket ticket)
    {
        if (_addresses.TryGetValue(aid, out var push) && push.SubscriberCount > 0)
        {
            push.Notify(ticket);
            return;
        }

        if (_notifier is not null)
        {
            MaybeWake(aid, ticket);
        }
    }

    /// <summary>
    /// A message for <paramref name="aid"/> that another node of the service accepted is durable and listed here: push
    /// it to this node's subscribers. Wakes no one: the node that accepted it decided about the wake-up.
    /// </summary>
    public void OnArrivedElsewhere(AddressId aid)
    {
        if (_addresses.TryGetValue(aid, out var push) && push.SubscriberCount > 0)
        {
            push.Notify(DurabilityTicket.None);
        }
    }

    /// <summary>
    /// Adds a subscription of <paramref name="target"/> to <paramref name="aid"/> with <paramref name="credit"/>
    /// (capped at <see cref="DeliveryOptions.MaxCredit"/>), or, if the target already has one, replaces its
    /// credit; starts pushing the backlog.
    /// </summary>
    public Subscription Subscribe(AddressId aid, IDeliveryTarget target, uint credit)
    {
        ArgumentNullException.ThrowIfNull(target);
        OwnerActive(aid);
        credit = Math.Min(credit, Options.MaxCredit);
        while (true)
        {
            var push = _addresses.GetOrAdd(aid, static (a, hub) => new AddressPush(hub, a), this);
            if (push.TryAdd(target, credit, out var subscription))
            {
                return subscription;
            }

            // The entry was being retired by its last unsubscribe: retire it here too, then retry.
            _addresses.TryRemove(new KeyValuePair<AddressId, AddressPush>(aid, push));
        }
    }

    /// <summary>Adds credit to a subscription (capped at <see cref="DeliveryOptions.MaxCredit"/>) and wakes its pump.</summary>
    public void Grant(Subscription subscription, uint credit)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        subscription.Address.Grant(subscription, credit, Options.MaxCredit);
    }

    /// <summary>Ends a subscription: what was in flight to it is pushed again elsewhere or waits.</summary>
    public void Unsubscribe(Subscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var push = subscription.Address;
        if (push.Remove(subscription))
        {
            _addresses.TryRemove(new KeyValuePair<AddressId, AddressPush>(push.Id, push));
        }
    }

    /// <summary>The owner acknowledged these ids: they are no longer in flight anywhere.</summary>
    public void OnAcked(AddressId aid, ReadOnlySpan<MessageId> ids)
    {
        if (_addresses.TryGetValue(aid, out var push))
        {
            push.Acked(ids);
        }
    }

    /// <summary>Something that changes what may be pushed (policy, an expiry) happened: re-evaluate.</summary>
    public void Poke(AddressId aid)
    {
        if (_addresses.TryGetValue(aid, out var push))
        {
            push.Signal();
        }
    }

    /// <summary>
    /// No node pushes <paramref name="aid"/> any more: its lease holder died (<see cref="IDeliveryCoordination.PushLost"/>).
    /// A SEND accepted while that node still looked live woke no one, so wake the owner now if messages wait and no
    /// subscriber here is about to take the lease; every node is told, and the burst's claim lets one of them wake.
    /// </summary>
    public void OnPushLost(AddressId aid)
    {
        if (_notifier is null || (_addresses.TryGetValue(aid, out var push) && push.SubscriberCount > 0))
        {
            return;
        }

        Span<PendingMessage> one = stackalloc PendingMessage[1];
        try
        {
            if (Queue.GetPending(aid, MessageId.None, one) == 0)
            {
                return;
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            return; // closing, or the store failed: no wake-up promises a message then
        }

        MaybeWake(aid, DurabilityTicket.None); // listed, so durable already
    }

    /// <summary>True if <paramref name="id"/> is on its way to a live subscriber (PULL leaves it to that one).</summary>
    public bool IsInFlight(AddressId aid, MessageId id) => _addresses.TryGetValue(aid, out var push) && push.IsInFlight(id);

    /// <summary>The owner connected for this address (PULL or SUBSCRIBE): the next message may wake it again.</summary>
    public void OwnerActive(AddressId aid)
    {
        if (!_lastWake.IsEmpty)
        {
            _lastWake.TryRemove(aid, out _);
        }

        Coordination.OwnerActive(aid);
    }

    /// <summary>Forgets wake-up marks older than the quiet period (the server calls it from its coarse timer).</summary>
    public void ExpireWakeMarks()
    {
        var now = Time.GetTimestamp();
        foreach (var pair in _lastWake)
        {
            if (Time.GetElapsedTime(pair.Value, now) >= Options.WakeQuietPeriod)
            {
                _lastWake.TryRemove(pair);
            }
        }
    }

    private void MaybeWake(AddressId aid, DurabilityTicket ticket)
    {
        if (!Registry.TryGetAddress(aid, out var info) || info.NotifyEndpoint is not { } endpoint || info.Policy.Kind == DeliveryPolicyKind.PullOnly)
        {
            return;
        }

        // Subscribed on another node of the service: online there, like a subscriber here.
        if (Coordination.IsPushed(aid))
        {
            return;
        }

        var now = Time.GetTimestamp();
        if (_lastWake.TryGetValue(aid, out var last) && Time.GetElapsedTime(last, now) < Options.WakeQuietPeriod)
        {
            Interlocked.Increment(ref _wakeupsSuppressed);
            return;
        }

        // Two SENDs racing here: the one that installs its mark wakes, the other is suppressed.
        if (last == 0 ? !_lastWake.TryAdd(aid, now) : !_lastWake.TryUpdate(aid, now, last))
        {
            Interlocked.Increment(ref _wakeupsSuppressed);
            return;
        }

        // This node's mark covers its own SENDs of the burst; the store's claim covers the other nodes' (one node alone: always won, at once).
        var claim = Coordination.ClaimWakeAsync(aid, Options.WakeQuietPeriod);
        if (!claim.IsCompletedSuccessfully)
        {
            _ = WakeIfClaimedAsync(claim, endpoint, ticket);
        }
        else if (claim.Result)
        {
            _ = WakeWhenDurableAsync(endpoint, ticket);
        }
        else
        {
            Interlocked.Increment(ref _wakeupsSuppressed);
        }
    }

    private async Task WakeIfClaimedAsync(ValueTask<bool> claim, string endpoint, DurabilityTicket ticket)
    {
        bool won;
        try
        {
            won = await claim;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            return; // the store is closing or failed
        }

        if (!won)
        {
            Interlocked.Increment(ref _wakeupsSuppressed); // another node woke the owner for this burst
            return;
        }

        await WakeWhenDurableAsync(endpoint, ticket);
    }

    /// <summary>A wake-up promises a message: send it only once the message is durable.</summary>
    private async Task WakeWhenDurableAsync(string endpoint, DurabilityTicket ticket)
    {
        try
        {
            await Durability.WaitDurableAsync(ticket);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            return; // the store closed or failed: the message was not acknowledged either
        }

        Interlocked.Increment(ref _wakeups);
        _notifier!.Wake(endpoint);
    }
}
