using System.Collections.Concurrent;
using EdgeRelay.Relay.Notifications;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay.Push;

/// <summary>
/// Push delivery for the whole relay: one <see cref="AddressPush"/> per address that has live
/// subscribers, and the wake-up decision for addresses that have none.
/// </summary>
/// <remarks>
/// The SEND path calls <see cref="OnAppended"/> once per stored message: a dictionary probe, and for a
/// subscribed address an interlocked maximum and at most one semaphore release. No allocation, no lock.
/// Everything else (reading the log, building DELIVER frames, timers of batched policies) happens on the
/// address' own pump task, off the ingest path.
/// </remarks>
internal sealed class PushHub
{
    private readonly ConcurrentDictionary<AddressId, AddressPush> _addresses = new();

    // Last wake-up per address (a timestamp of the relay's TimeProvider). One wake-up covers a burst:
    // the next one waits for the owner to come back (pull or subscribe), or for the quiet period to pass.
    private readonly ConcurrentDictionary<AddressId, long> _lastWake = new();
    private readonly IWakeupNotifier? _notifier;
    private readonly TimeSpan _wakeQuietPeriod;
    private long _wakeups;
    private long _wakeupsSuppressed;

    public PushHub(RelayService relay, IWakeupNotifier? notifier, TimeSpan wakeQuietPeriod)
    {
        Relay = relay;
        _notifier = notifier;
        _wakeQuietPeriod = wakeQuietPeriod;
    }

    internal RelayService Relay { get; }

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

    /// <summary>A message for <paramref name="aid"/> was appended (not yet durable): push it, or wake the owner.</summary>
    public void OnAppended(AddressId aid, long messageId)
    {
        if (_addresses.TryGetValue(aid, out var push) && push.SubscriberCount > 0)
        {
            push.Notify(messageId);
            return;
        }

        if (_notifier is not null)
        {
            MaybeWake(aid, messageId);
        }
    }

    /// <summary>Adds (or, if this session already has one, re-windows) a subscription; starts pushing the backlog.</summary>
    public Subscription Subscribe(AddressId aid, RelaySession session, uint credit)
    {
        OwnerActive(aid);
        while (true)
        {
            var push = _addresses.GetOrAdd(aid, static (a, hub) => new AddressPush(hub, a), this);
            if (push.TryAdd(session, credit, out var subscription))
            {
                return subscription;
            }

            // The entry was being retired by its last unsubscribe: retire it here too, then retry.
            _addresses.TryRemove(new KeyValuePair<AddressId, AddressPush>(aid, push));
        }
    }

    public void Unsubscribe(Subscription subscription)
    {
        var push = subscription.Address;
        if (push.Remove(subscription))
        {
            _addresses.TryRemove(new KeyValuePair<AddressId, AddressPush>(push.Id, push));
        }
    }

    /// <summary>The owner acknowledged these ids: they are no longer in flight anywhere.</summary>
    public void OnAcked(AddressId aid, ReadOnlySpan<long> ids)
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

    /// <summary>True if <paramref name="id"/> is on its way to a live subscriber (PULL leaves it to that one).</summary>
    public bool IsInFlight(AddressId aid, long id) => _addresses.TryGetValue(aid, out var push) && push.IsInFlight(id);

    /// <summary>The owner connected for this address (PULL or SUBSCRIBE): the next message may wake it again.</summary>
    public void OwnerActive(AddressId aid)
    {
        if (!_lastWake.IsEmpty)
        {
            _lastWake.TryRemove(aid, out _);
        }
    }

    /// <summary>Forgets wake-up marks older than the quiet period (called by the relay's one-second watchdog).</summary>
    public void ExpireWakeMarks(long now)
    {
        foreach (var pair in _lastWake)
        {
            if (Relay.Time.GetElapsedTime(pair.Value, now) >= _wakeQuietPeriod)
            {
                _lastWake.TryRemove(pair);
            }
        }
    }

    private void MaybeWake(AddressId aid, long messageId)
    {
        if (!Relay.Store.TryGetAddress(aid, out var info) || info.NotifyEndpoint is not { } endpoint || info.Policy.Kind == DeliveryPolicyKind.PullOnly)
        {
            return;
        }

        var now = Relay.Time.GetTimestamp();
        if (_lastWake.TryGetValue(aid, out var last) && Relay.Time.GetElapsedTime(last, now) < _wakeQuietPeriod)
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

        _ = WakeWhenDurableAsync(endpoint, messageId);
    }

    /// <summary>A wake-up promises a message: send it only once the message is durable.</summary>
    private async Task WakeWhenDurableAsync(string endpoint, long messageId)
    {
        try
        {
            await Relay.Store.WaitForCommitAsync(messageId);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            return; // the store closed or failed: the message was not acknowledged either
        }

        Interlocked.Increment(ref _wakeups);
        _notifier!.Wake(endpoint);
    }
}
