using EdgeRelay.Storage;

namespace EdgeRelay.Delivery;

/// <summary>
/// The subscribers of one address and the pump that pushes to them: messages in id order, each in
/// flight to one subscription at a time, within the credit each granted, timed by the address' policy.
/// </summary>
/// <remarks>
/// <para>At-least-once: a message stays pending in the store until the owner ACKs it. It is in flight
/// from its delivery until the ACK or until its subscription ends (unsubscribe, connection lost); then it
/// is pushed again to another subscriber, or waits for the next SUBSCRIBE or PULL.</para>
/// <para>Memory: the pump reads payloads only for credit granted, so a subscriber that grants none costs
/// nothing however many messages arrive; one that grants credit but does not read its socket holds at most
/// its credit in its outbox.</para>
/// <para>Durability: the queue lists only durable messages, so nothing is pushed that a crash could take
/// back. The pump pushes what is durable now, then waits for the ticket of the newest arrival.</para>
/// <para>One file past the usual length on purpose: the pump, the in-flight map, the resume cursor and the
/// credit are one state machine guarded by one lock, and its rules read best in one place.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore's wait handle is never created; a SemaphoreSlim without one holds nothing to dispose.")]
internal sealed class AddressPush
{
    private const int ScanBatch = 256;

    private readonly PushHub _hub;
    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscriptions = [];
    private readonly Dictionary<MessageId, Subscription> _inFlight = [];

    // No maximum count: a release can never throw on the SEND path; the _signaled flag keeps the count at 0 or 1.
    private readonly SemaphoreSlim _signal = new(0);
    private int _signaled;

    // The ticket position of the newest message appended since the pump last looked (0: none).
    private long _notifiedUpTo;
    private long _lastPushUnixMs;

    // Every pending id at or below this is in flight (or acked since): a round resumes after it instead
    // of walking the in-flight messages again. Reset to None whenever in-flight messages are released.
    private MessageId _resumeAfter;
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

    private IMessageQueue Queue => _hub.Queue;

    /// <summary>Hot path (SEND): remember the newest ticket and wake the pump, coalescing wake-ups.</summary>
    public void Notify(DurabilityTicket ticket)
    {
        var position = ticket.Position;
        var seen = Volatile.Read(ref _notifiedUpTo);
        while (position > seen)
        {
            var previous = Interlocked.CompareExchange(ref _notifiedUpTo, position, seen);
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
    public bool TryAdd(IDeliveryTarget target, uint credit, out Subscription subscription)
    {
        bool first = false, added = false;
        lock (_lock)
        {
            subscription = null!;
            if (_retired)
            {
                return false;
            }

            var existing = _subscriptions.Find(s => s.Target == target);
            if (existing is not null)
            {
                existing.Credit = credit;
                subscription = existing;
            }
            else
            {
                subscription = new Subscription(this, target, credit);
                _subscriptions.Add(subscription);
                Volatile.Write(ref _subscriberCount, _subscriptions.Count);
                first = _subscriptions.Count == 1;
                added = true;
            }

            _pump ??= Task.Run(PumpAsync);
        }

        if (added)
        {
            // Several nodes: push only once this node holds the address' lease (PushChanged signals it then). Every new
            // subscription asks, being the owner's newest: it takes the lease from the node of an older one.
            _hub.Coordination.WantPush(Id);
        }

        Signal();
        if (first)
        {
            WakeWhenEarlierWritesAreDurable();
        }

        return true;
    }

    /// <summary>
    /// A SEND that found no subscriber here did not notify this entry, yet its message may still be on its
    /// way to disk when the first subscriber's listing runs, and would then wait for the next SEND. The flush
    /// round that makes every write so far durable wakes the pump once more to list it. Such a SEND saw the
    /// count at 0, so it appended before the count went up, before this call: the round covers it.
    /// </summary>
    private void WakeWhenEarlierWritesAreDurable()
    {
        Task round;
        try
        {
            round = _hub.Durability.FlushAsync();
        }
        catch (ObjectDisposedException)
        {
            return; // shutting down: nothing more will be pushed
        }

        _ = round.ContinueWith(static (_, state) => ((AddressPush)state!).Signal(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
            List<MessageId>? released = null;
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
                _resumeAfter = MessageId.None;
            }

            last = _subscriptions.Count == 0;
            _retired = last;
        }

        _hub.Coordination.DropPush(Id); // one per WantPush: the lease is released with the last

        Signal(); // redeliver what it held, or let the pump see it has no one left and end
        return last;
    }

    public void Acked(ReadOnlySpan<MessageId> ids)
    {
        lock (_lock)
        {
            foreach (var id in ids)
            {
                _inFlight.Remove(id);
            }
        }
    }

    public bool IsInFlight(MessageId id)
    {
        lock (_lock)
        {
            return _inFlight.ContainsKey(id);
        }
    }

    private async Task PumpAsync()
    {
        var pending = new PendingMessage[ScanBatch];
        var assigned = new PendingMessage[ScanBatch];
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

                    // Not this node's to push (another node holds the lease): wait for the lease to come here.
                    if (!_hub.Registry.TryGetAddress(Id, out var info) || info.Policy.Kind == DeliveryPolicyKind.PullOnly || !_hub.Coordination.MayPush(Id))
                    {
                        break;
                    }

                    // Push what is durable now; only then wait for the durability of what arrived since. Waiting
                    // first for the newest message would hold every earlier one back by a flush. Whether the
                    // newest is durable is asked before listing: asked after, a flush landing between an empty
                    // listing and the question would read as "all pushed" and strand the message until the
                    // next SEND. A message notified after this read signals again, so the next round sees it.
                    var newest = Volatile.Read(ref _notifiedUpTo);
                    var allDurable = newest == 0 || _hub.Durability.IsDurable(DurabilityTicket.At(newest));
                    if (info.Policy.Kind != DeliveryPolicyKind.Batched || await WaitForWindowAsync(info.Policy, pending))
                    {
                        while (_hub.Coordination.MayPush(Id))
                        {
                            var (pushed, grown) = await PushRoundAsync(pending, assigned);
                            assigned = grown;
                            if (!pushed)
                            {
                                break;
                            }
                        }
                    }

                    if (allDurable)
                    {
                        break;
                    }

                    await _hub.Durability.WaitDurableAsync(DurabilityTicket.At(newest));
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The store closed (shutdown): sessions are ending too; pending messages stay stored.
        }
        catch (Exception ex)
        {
            DeliveryLog.PushFault(_hub.Logger, ex);
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
        var wait = due - _hub.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait), _hub.Time);
        }

        return true;
    }

    private PendingMessage? FirstNotInFlight(PendingMessage[] pending)
    {
        MessageId after;
        lock (_lock)
        {
            after = _resumeAfter;
        }

        while (true)
        {
            var n = Queue.GetPending(Id, after, pending);
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
    /// Assigns the oldest messages not in flight to one subscriber with credit (round robin) and hands them
    /// to its target. Pushed is true if it delivered something (another round may follow); the array is the
    /// assignment buffer, grown if a round needed more room.
    /// </summary>
    private async ValueTask<(bool Pushed, PendingMessage[] Assigned)> PushRoundAsync(PendingMessage[] pending, PendingMessage[] assigned)
    {
        Subscription? target;
        MessageId after;
        lock (_lock)
        {
            target = NextWithCredit();
            after = _resumeAfter;
        }

        if (target is null)
        {
            return (false, assigned);
        }

        var options = _hub.Options;
        long bytes = 0;
        var count = 0;
        var full = false;
        while (!full)
        {
            var n = Queue.GetPending(Id, after, pending);
            if (n == 0)
            {
                break;
            }

            lock (_lock)
            {
                for (var i = 0; i < n; i++)
                {
                    var message = pending[i];
                    var size = options.PerMessageOverhead + message.Length;
                    if (target.Credit == 0 || target.Removed || (count > 0 && bytes + size > options.MaxBatchBytes))
                    {
                        full = true;
                        break;
                    }

                    if (_inFlight.TryAdd(message.Id, target))
                    {
                        if (count == assigned.Length)
                        {
                            Array.Resize(ref assigned, assigned.Length * 2);
                        }

                        assigned[count++] = message;
                        bytes += size;
                        target.Credit--;
                    }

                    _resumeAfter = MessageId.Max(_resumeAfter, message.Id);
                }
            }

            if (n < pending.Length)
            {
                break;
            }

            after = pending[n - 1].Id;
        }

        if (count == 0)
        {
            return (false, assigned);
        }

        var outcome = await target.Target.DeliverAsync(Id, assigned.AsMemory(0, count), Queue);
        _lastPushUnixMs = _hub.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (outcome == DeliveryOutcome.Sent)
        {
            return (true, assigned);
        }

        // Nothing readable (acked meanwhile), or the target is closing: free what was assigned. A closing
        // target's end unsubscribes it, which wakes the pump to give the messages to someone else.
        lock (_lock)
        {
            if (outcome == DeliveryOutcome.NothingReadable)
            {
                target.Credit += (uint)count;
            }

            _resumeAfter = MessageId.None;
            for (var i = 0; i < count; i++)
            {
                var id = assigned[i].Id;
                if (_inFlight.TryGetValue(id, out var holder) && holder == target)
                {
                    _inFlight.Remove(id);
                }
            }
        }

        return (false, assigned);
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
}
