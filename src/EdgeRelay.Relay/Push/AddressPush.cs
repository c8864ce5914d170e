using EdgeRelay.Protocol;
using EdgeRelay.Storage;

namespace EdgeRelay.Relay.Push;

/// <summary>One live subscription: a session, the credit it granted, and what is in flight to it.</summary>
internal sealed class Subscription
{
    public Subscription(AddressPush address, RelaySession session, uint credit)
    {
        Address = address;
        Session = session;
        Credit = credit;
    }

    public AddressPush Address { get; }

    public RelaySession Session { get; }

    /// <summary>Messages the server may still push to it; guarded by the address' lock.</summary>
    public uint Credit { get; set; }

    public bool Removed { get; set; }
}

/// <summary>
/// The subscribers of one address and the pump that pushes to them: messages in id order, each in
/// flight to one subscription at a time, within the credit each granted, timed by the address' policy.
/// </summary>
/// <remarks>
/// <para>At-least-once: a message stays pending in the store until the owner ACKs it. It is in flight
/// from the DELIVER until the ACK or until its subscription ends (unsubscribe, connection lost); then it
/// is pushed again to another subscriber, or waits for the next SUBSCRIBE or PULL.</para>
/// <para>Memory: the pump reads payloads from the log only for credit granted, so a subscriber that
/// grants none costs nothing however many messages arrive; one that grants credit but does not read
/// its socket holds at most its credit in its outbox.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore's wait handle is never created; a SemaphoreSlim without one holds nothing to dispose.")]
internal sealed class AddressPush
{
    private const int ScanBatch = 256;

    private readonly PushHub _hub;
    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscriptions = [];
    private readonly Dictionary<long, Subscription> _inFlight = [];
    // No maximum count: a release can never throw on the SEND path; the _signaled flag keeps the count at 0 or 1.
    private readonly SemaphoreSlim _signal = new(0);
    private int _signaled;
    private long _notifiedUpTo = -1;
    private long _lastPushUnixMs;

    // Every pending id at or below this is in flight (or acked since): a round resumes after it instead
    // of walking the in-flight messages again. Reset to -1 whenever in-flight messages are released.
    private long _resumeAfter = -1;
    private int _subscriberCount;
    private bool _retired;
    private Task? _pump;
    private int _nextSubscriber;

    public AddressPush(PushHub hub, AddressId id)
    {
        _hub = hub;
        Id = id;
    }

    public AddressId Id { get; }

    public int SubscriberCount => Volatile.Read(ref _subscriberCount);

    private RelayStore Store => _hub.Relay.Store;

    /// <summary>Hot path (SEND): remember the newest id and wake the pump, coalescing wake-ups.</summary>
    public void Notify(long messageId)
    {
        var seen = Volatile.Read(ref _notifiedUpTo);
        while (messageId > seen)
        {
            var previous = Interlocked.CompareExchange(ref _notifiedUpTo, messageId, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }

        Signal();
    }

    public void Signal()
    {
        if (Interlocked.Exchange(ref _signaled, 1) == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>False if this entry is retired (its last subscriber left); the hub then makes a new one.</summary>
    public bool TryAdd(RelaySession session, uint credit, out Subscription subscription)
    {
        lock (_lock)
        {
            subscription = null!;
            if (_retired)
            {
                return false;
            }

            var existing = _subscriptions.Find(s => s.Session == session);
            if (existing is not null)
            {
                existing.Credit = credit;
                subscription = existing;
            }
            else
            {
                subscription = new Subscription(this, session, credit);
                _subscriptions.Add(subscription);
                Volatile.Write(ref _subscriberCount, _subscriptions.Count);
            }

            _pump ??= Task.Run(PumpAsync);
        }

        Signal();
        return true;
    }

    /// <summary>Adds credit (capped), and wakes the pump.</summary>
    public void Grant(Subscription subscription, uint credit, uint cap)
    {
        lock (_lock)
        {
            subscription.Credit = (uint)Math.Min((long)subscription.Credit + credit, cap);
        }

        Signal();
    }

    /// <summary>Ends a subscription and frees its in-flight messages for others. True when it was the last (the entry is retired).</summary>
    public bool Remove(Subscription subscription)
    {
        bool last;
        lock (_lock)
        {
            if (subscription.Removed)
            {
                return false;
            }

            subscription.Removed = true;
            _subscriptions.Remove(subscription);
            Volatile.Write(ref _subscriberCount, _subscriptions.Count);
            List<long>? released = null;
            foreach (var pair in _inFlight)
            {
                if (pair.Value == subscription)
                {
                    (released ??= []).Add(pair.Key);
                }
            }

            foreach (var id in released ?? [])
            {
                _inFlight.Remove(id);
            }

            if (released is not null)
            {
                _resumeAfter = -1;
            }

            last = _subscriptions.Count == 0;
            _retired = last;
        }

        Signal(); // redeliver what it held, or let the pump see it has no one left and end
        return last;
    }

    public void Acked(ReadOnlySpan<long> ids)
    {
        lock (_lock)
        {
            foreach (var id in ids)
            {
                _inFlight.Remove(id);
            }
        }
    }

    public bool IsInFlight(long id)
    {
        lock (_lock)
        {
            return _inFlight.ContainsKey(id);
        }
    }

    private async Task PumpAsync()
    {
        var pending = new PendingMessage[ScanBatch];
        var assigned = new List<PendingMessage>();
        var exited = false;
        try
        {
            while (true)
            {
                await _signal.WaitAsync();
                Volatile.Write(ref _signaled, 0); // a signal from here on wakes the next round
                while (true)
                {
                    lock (_lock)
                    {
                        if (_subscriptions.Count == 0)
                        {
                            _pump = null;
                            exited = true;
                            return;
                        }
                    }

                    if (!Store.TryGetAddress(Id, out var info) || info.Policy.Kind == DeliveryPolicyKind.PullOnly)
                    {
                        break;
                    }

                    // Push what is durable now; only then wait for the commit of what arrived since. Waiting
                    // first for the newest message would hold every earlier one back by a commit.
                    if (info.Policy.Kind != DeliveryPolicyKind.Batched || await WaitForWindowAsync(info.Policy, pending))
                    {
                        while (await PushRoundAsync(pending, assigned))
                        {
                        }
                    }

                    var newest = Volatile.Read(ref _notifiedUpTo);
                    if (newest < 0 || Store.IsCommitted(newest))
                    {
                        break;
                    }

                    await Store.WaitForCommitAsync(newest);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The store closed (shutdown): sessions are ending too; pending messages stay in the log.
        }
        catch (Exception ex)
        {
            RelayLog.PushFault(_hub.Relay.Logger, ex);
        }
        finally
        {
            if (!exited)
            {
                // A fault: let the next subscription or signal start a fresh pump.
                lock (_lock)
                {
                    _pump = null;
                }
            }
        }
    }

    /// <summary>
    /// Batched policy: push no sooner than a window after the previous push and after the oldest message
    /// not yet in flight arrived. False when there is nothing to push.
    /// </summary>
    private async ValueTask<bool> WaitForWindowAsync(DeliveryPolicy policy, PendingMessage[] pending)
    {
        var oldest = FirstNotInFlight(pending);
        if (oldest is null)
        {
            return false;
        }

        var due = Math.Max(_lastPushUnixMs, oldest.Value.ReceivedAtUnixMs) + policy.WindowMilliseconds;
        var wait = due - _hub.Relay.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait), _hub.Relay.Time);
        }

        return true;
    }

    private PendingMessage? FirstNotInFlight(PendingMessage[] pending)
    {
        long after;
        lock (_lock)
        {
            after = _resumeAfter;
        }

        while (true)
        {
            var n = Store.GetPending(Id, after, pending);
            if (n == 0)
            {
                return null;
            }

            lock (_lock)
            {
                for (var i = 0; i < n; i++)
                {
                    if (!_inFlight.ContainsKey(pending[i].Id))
                    {
                        return pending[i];
                    }
                }
            }

            after = pending[n - 1].Id;
        }
    }

    /// <summary>
    /// Assigns the oldest messages not in flight to one subscriber with credit (round robin), reads them
    /// into one DELIVER frame and queues it. True if it pushed something (another round may follow).
    /// </summary>
    private async ValueTask<bool> PushRoundAsync(PendingMessage[] pending, List<PendingMessage> assigned)
    {
        assigned.Clear();
        Subscription? target;
        lock (_lock)
        {
            target = NextWithCredit();
        }

        if (target is null)
        {
            return false;
        }

        long bytes = 0;
        var budget = _hub.Relay.Options.Relay.MaxReplyBytes - ProtocolConstants.AddressIdLength - 2;
        long after;
        lock (_lock)
        {
            after = _resumeAfter;
        }

        var full = false;
        while (!full)
        {
            var n = Store.GetPending(Id, after, pending);
            if (n == 0)
            {
                break;
            }

            lock (_lock)
            {
                for (var i = 0; i < n; i++)
                {
                    var message = pending[i];
                    var size = DeliveredMessage.HeaderLength + message.Length;
                    if (target.Credit == 0 || target.Removed || (assigned.Count > 0 && bytes + size > budget))
                    {
                        full = true;
                        break;
                    }

                    if (_inFlight.TryAdd(message.Id, target))
                    {
                        assigned.Add(message);
                        bytes += size;
                        target.Credit--;
                    }

                    _resumeAfter = Math.Max(_resumeAfter, message.Id);
                }
            }

            if (n < pending.Length)
            {
                break;
            }

            after = pending[n - 1].Id;
        }

        if (assigned.Count == 0)
        {
            return false;
        }

        var frame = await BuildFrameAsync(assigned);
        _lastPushUnixMs = _hub.Relay.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (frame is { } built && await target.Session.PushAsync(built.Frame, built.Length))
        {
            var metrics = _hub.Relay.Metrics;
            metrics.PushedMessages.Inc(assigned.Count);
            foreach (var message in assigned)
            {
                metrics.DeliveryLatency.Observe(Math.Max(0, _lastPushUnixMs - message.ReceivedAtUnixMs) / 1000.0);
            }

            return true;
        }

        // Nothing readable (acked meanwhile), or the session is closing: free what was assigned. Its
        // end unsubscribes it, which wakes the pump to give the messages to someone else. A frame the
        // outbox refused is still ours to give back.
        if (frame is { } refused)
        {
            MessageFrames.Return(refused.Frame);
        }

        lock (_lock)
        {
            if (frame is null)
            {
                target.Credit += (uint)assigned.Count;
            }

            _resumeAfter = -1;

            foreach (var message in assigned)
            {
                if (_inFlight.TryGetValue(message.Id, out var holder) && holder == target)
                {
                    _inFlight.Remove(message.Id);
                }
            }
        }

        return false;
    }

    private Subscription? NextWithCredit()
    {
        for (var i = 0; i < _subscriptions.Count; i++)
        {
            var candidate = _subscriptions[(_nextSubscriber + i) % _subscriptions.Count];
            if (candidate.Credit > 0)
            {
                _nextSubscriber = (_nextSubscriber + i + 1) % _subscriptions.Count;
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads each payload from the log straight into its place in a rented frame (see
    /// <see cref="OutboxItem.RentedFrame"/>); null if none could be read.
    /// </summary>
    private async ValueTask<(byte[] Frame, int Length)?> BuildFrameAsync(List<PendingMessage> messages)
    {
        long ciphertextBytes = 0;
        foreach (var message in messages)
        {
            ciphertextBytes += message.Length;
        }

        var bodyLength = FrameWriter.DeliverBodyLength(messages.Count, ciphertextBytes);
        var (frame, offset, count) = await MessageFrames.FillRentedAsync(
            Store, Id, messages, ProtocolConstants.HeaderLength + bodyLength, ProtocolConstants.HeaderLength + ProtocolConstants.AddressIdLength + 2, CancellationToken.None);
        if (count == 0)
        {
            MessageFrames.Return(frame);
            return null;
        }

        FrameWriter.WriteDeliverHeader(frame, offset - ProtocolConstants.HeaderLength, Id, count);
        return (frame, offset);
    }
}
