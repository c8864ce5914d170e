using System.Collections.Concurrent;

namespace EdgeRelay.Storage.JetStream;

// Who pushes and who wakes among the nodes: the presence stream's table (Presence.cs).
public sealed partial class JetStreamStorage
{
    /// <summary>Addresses whose lease this node gained and whose stream its index is catching up with (see <see cref="OnPresenceChanged"/>).</summary>
    private readonly ConcurrentDictionary<AddressId, byte> _catchingUp = new();

    /// <summary>Addresses whose lease this node holds and whose stream its index caught up with since it gained it: the ones it may push.</summary>
    private readonly ConcurrentDictionary<AddressId, byte> _caughtUp = new();

    private Action<AddressId>? _pushChanged;
    private int _outboundOpened;

    /// <summary>Told as the contract says; a lease gained is told once this node's index caught up with the address' stream.</summary>
    public Action<AddressId>? PushChanged
    {
        get => _pushChanged;
        set => _pushChanged = value;
    }

    /// <summary>Push leases taken over from a node that stopped beating.</summary>
    public long LeaseHandOvers => _presence.HandOvers;

    /// <summary>Push leases taken from a live node, for an owner who subscribed here after subscribing there.</summary>
    public long LeaseTakeOvers => _presence.TakeOvers;

    /// <summary>Told as the contract says.</summary>
    public Action<AddressId>? PushLost
    {
        get => _presence.PushLost;
        set => _presence.PushLost = value;
    }

    /// <summary>Wake-up claims another node had made first in the same burst.</summary>
    public long WakeClaimsLost => _presence.WakeClaimsLost;

    /// <summary>Push leases this node holds.</summary>
    public int LeasesHeld => _presence.LeasesHeld;

    internal long HeartbeatTicks => _presence.Ticks;

    /// <summary>This node's id in the presence stream (one per process start).</summary>
    internal long NodeId => _writer;

    internal long BeatenUpTo => _presence.BeatenUpTo;

    internal int DispatchClaimsInFlight => _presence.DispatchClaimsInFlight;

    public bool MayPush(AddressId aid) => _caughtUp.ContainsKey(aid) && _presence.MayPush(aid);

    /// <summary>A new subscription here: take the push lease (the catch-up comes when it is gained, see <see cref="OnPresenceChanged"/>).</summary>
    public void WantPush(AddressId aid) => _presence.WantPush(aid);

    private async Task CatchUpAsync(AddressId aid)
    {
        var stream = _options.MessageStream(PartitionOf(aid, _options.Partitions));
        try
        {
            var info = await StartRetry.RunAsync(c => _js.GetStreamAsync(stream, cancellationToken: c).AsTask(), "reading stream " + stream, _options.PublishRetryWindow, _logger, _stopping.Token).ConfigureAwait(false);
            await _followers[stream].WaitAppliedAsync(info.Info.State.LastSeq).WaitAsync(_options.PublishRetryWindow, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or TimeoutException or NATS.Client.Core.NatsException)
        {
            // Closing, or the store is failing (which stops the relay): push what the index has; at least once still holds.
            JetStreamLog.CatchUpFailed(_logger, aid.ToString(), ex);
        }
        finally
        {
            if (_presence.MayPush(aid))
            {
                _caughtUp.TryAdd(aid, 0);
            }

            _catchingUp.TryRemove(aid, out _);
            try
            {
                _pushChanged?.Invoke(aid); // the pump looks again: it pushes now if the lease is still here
            }
            catch (Exception ex)
            {
                JetStreamLog.PresenceCallbackFailed(_logger, aid.ToString(), ex);
            }
        }
    }

    /// <summary>
    /// The lease of <paramref name="aid"/> came here or left. Gained, this node pushes only once its index caught up
    /// with the address' stream as it is now: an owner who moved here acked messages on the node it left, and until
    /// this node applied those ack records its index still lists them, so pushing at once would deliver acknowledged
    /// messages again (the kill test saw 30 when this node's own consumer had been on the lost NATS server). A change
    /// during the catch-up is told at its end.
    /// </summary>
    private void OnPresenceChanged(AddressId aid)
    {
        if (!_presence.MayPush(aid))
        {
            _caughtUp.TryRemove(aid, out _); // lost (or this node cut off): a later gain catches up again
        }
        else if (!_caughtUp.ContainsKey(aid))
        {
            if (_catchingUp.TryAdd(aid, 0))
            {
                _ = CatchUpAsync(aid);
            }

            return; // told when caught up
        }

        if (!_catchingUp.ContainsKey(aid))
        {
            _pushChanged?.Invoke(aid);
        }
    }

    public void DropPush(AddressId aid) => _presence.DropPush(aid);

    public bool IsPushed(AddressId aid) => _presence.IsPushed(aid);

    /// <summary>Faults rather than throws once closed: it is reached from the SEND path, which must not throw for a wake-up.</summary>
    public ValueTask<bool> ClaimWakeAsync(AddressId aid, TimeSpan quietPeriod) =>
        Volatile.Read(ref _disposed) != 0
            ? ValueTask.FromException<bool>(new ObjectDisposedException(nameof(JetStreamStorage)))
            : _presence.ClaimWakeAsync(aid, quietPeriod);

    public void OwnerActive(AddressId aid) => _presence.OwnerActive(aid);

    /// <summary>
    /// Opens the sending service's outbound queue on this store's cluster and connection, for this node: its messages
    /// name this node, which forwards them while it beats; once it is dead another node adopts them through the
    /// presence table (<see cref="IOutboundDispatch"/>). Dispose it before this store.
    /// </summary>
    public Task<JetStreamOutboundQueue> OpenOutboundQueueAsync(OutboundLimits limits, Microsoft.Extensions.Logging.ILogger? logger = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.ValidateLimits();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // One per node: its records name the node, and the presence table tells one queue of adoptions.
        if (Interlocked.Exchange(ref _outboundOpened, 1) != 0)
        {
            throw new InvalidOperationException("This node's outbound queue is open already: one per store.");
        }

        return JetStreamOutboundQueue.OpenForNodeAsync(_options, limits, _time, logger ?? _logger, _connection, _writer, _presence, ct);
    }

    /// <summary>
    /// Opens the cluster's attachment replicas (<see cref="IAttachmentReplicas"/>) on this store's connection: attachments
    /// committed on any node, kept for <paramref name="expiry"/> and a day.
    /// </summary>
    public Task<JetStreamAttachmentReplicas> OpenAttachmentReplicasAsync(TimeSpan expiry, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return JetStreamAttachmentReplicas.OpenAsync(_js, _options, expiry, _logger, ct);
    }
}
