using System.Runtime.CompilerServices;
using System.Threading.Channels;
using EdgeRelay.Client;
using EdgeRelay.RelationshipManager.Services;
using EdgeRelay.RelationshipManager.State;
using NSec.Cryptography;

namespace EdgeRelay.RelationshipManager;

public sealed partial class RelationshipManager
{
    /// <summary>
    /// Everything that arrives, as it arrives, until <paramref name="cancellationToken"/> is cancelled: first
    /// what was waiting (as <see cref="ReceiveAsync"/>), then pushes from a subscription on every live address
    /// that survives idle periods, dropped connections and relay restarts (<see cref="ConnectionChanged"/>
    /// says when it reconnects). Each message is stored before the relay is told to forget it.
    /// </summary>
    /// <remarks>
    /// Addresses added meanwhile (an invitation created or accepted, here or by another process sharing the
    /// home) are subscribed within <see cref="RelationshipManagerOptions.AddressRescanInterval"/>. A pull-only
    /// address is subscribed too, but its relay never pushes: its messages come with the next <see cref="ReceiveAsync"/>.
    /// </remarks>
    public async IAsyncEnumerable<RmEvent> FollowAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var waiting in await ReceiveAsync(cancellationToken))
        {
            yield return waiting;
        }

        var events = Channel.CreateUnbounded<RmEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var follower = new Follower(this, events.Writer, stop.Token);
        var run = follower.RunAsync();
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(cancellationToken))
            {
                yield return e;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await run;
            await follower.DisposeAsync();
        }
    }

    /// <summary>
    /// Processes one pushed message (under the instance's gate, like every operation), acknowledges it once
    /// stored, and sends what processing queued (receipts).
    /// </summary>
    private Task<List<RmEvent>> ProcessPushedAsync(RelaySubscriber subscriber, AddressedMessage pushed, CancellationToken cancellationToken) =>
        SerialisedAsync(
            async () =>
            {
                var events = new List<RmEvent>();
                if (_database.GetAddress(pushed.Address) is { } address)
                {
                    Process(address, pushed.Message, events);
                }

                try
                {
                    await subscriber.AckAsync(pushed.Address, [pushed.Message.Id], cancellationToken);
                }
                catch (Exception e) when (e is RelayException or InvalidOperationException || ServiceConnections.IsConnectionFailure(e))
                {
                    // The connection dropped (or the address was just dropped) between push and ack: the relay pushes
                    // it again and it is recognised as a duplicate. What it did is committed: its events still go out.
                }

                await SendWhatProcessingQueuedAsync(cancellationToken);
                return events;
            },
            cancellationToken);

    /// <summary>One subscriber per receiving service, kept in step with the live addresses.</summary>
    private sealed class Follower(RelationshipManager rm, ChannelWriter<RmEvent> events, CancellationToken stop) : IAsyncDisposable
    {
        private readonly Dictionary<long, RelaySubscriber> _subscribers = [];
        private readonly Dictionary<AddressId, Key> _owners = [];
        private readonly List<Task> _pumps = [];

        public async Task RunAsync()
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await SyncAddressesAsync();
                    await Task.Delay(rm._options.AddressRescanInterval, rm.Time, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                events.TryComplete(e);
                return;
            }

            events.TryComplete();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var subscriber in _subscribers.Values)
            {
                await subscriber.DisposeAsync();
            }

            await Task.WhenAll(_pumps).ContinueWith(static _ => { }, TaskScheduler.Default);
            foreach (var owner in _owners.Values)
            {
                owner.Dispose();
            }
        }

        private async Task SyncAddressesAsync()
        {
            // Everything that reads the database or the state key runs under the gate: the connection and the
            // sealer are the instance's, shared with the processing of pushes.
            var (live, added) = await rm.SerialisedAsync(
                async () =>
                {
                    // An idle inbox still rotates its addresses: nothing else would run the maintenance.
                    if (await rm.MaintainAddressesIfDueAsync(stop))
                    {
                        await rm.FlushOutboxAsync(stop);
                    }
                    else if (rm._database.HasHandedOff())
                    {
                        await rm.FollowHandoffsAsync(stop); // what a sending service holds is followed even while nothing else happens
                    }

                    var live = rm.LiveAddresses();
                    var added = live.Where(a => !_owners.ContainsKey(a.Aid))
                        .Select(a => (Address: a, Owner: rm.OwnerKey(a), Service: rm._database.GetService(a.ServiceId) ?? throw new StateException(StateError.Corrupt, "An address names a service that is not recorded.")))
                        .ToList();
                    return (live, added);
                },
                stop);
            foreach (var (address, owner, service) in added)
            {
                var subscriber = SubscriberFor(service);
                _owners[address.Aid] = owner;
                try
                {
                    await subscriber.AddAsync(address.Aid, owner, cancellationToken: stop);
                }
                catch (RelayException e) when (!e.ConnectionClosed)
                {
                    // Refused (revoked or expired at the relay): reported by the subscriber's events; not retried.
                }
            }

            var liveIds = live.Select(a => a.Aid).ToHashSet();
            foreach (var gone in _owners.Keys.Where(aid => !liveIds.Contains(aid)).ToList())
            {
                foreach (var subscriber in _subscribers.Values)
                {
                    await subscriber.RemoveAsync(gone);
                }

                _owners.Remove(gone, out var key);
                key?.Dispose();
            }
        }

        private RelaySubscriber SubscriberFor(ServiceRecord service)
        {
            if (_subscribers.TryGetValue(service.Id, out var existing))
            {
                return existing;
            }

            var subscriber = new RelaySubscriber(rm._connections.EndpointsOf(service.Endpoint), new RelaySubscriberOptions { Client = rm._connections.ForService(service.Pin) });
            _subscribers[service.Id] = subscriber;
            subscriber.Start();
            _pumps.Add(PumpDeliveriesAsync(subscriber));
            _pumps.Add(PumpEventsAsync(subscriber, service.Endpoint));
            return subscriber;
        }

        private async Task PumpDeliveriesAsync(RelaySubscriber subscriber)
        {
            try
            {
                await foreach (var pushed in subscriber.Deliveries.ReadAllAsync(stop))
                {
                    foreach (var e in await rm.ProcessPushedAsync(subscriber, pushed, stop))
                    {
                        events.TryWrite(e);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                events.TryComplete(e);
            }
        }

        private async Task PumpEventsAsync(RelaySubscriber subscriber, string endpoint)
        {
            try
            {
                await foreach (var e in subscriber.Events.ReadAllAsync(stop))
                {
                    var at = rm.Time.GetUtcNow();
                    RmEvent? mapped = e switch
                    {
                        SubscriberConnected => new ConnectionChanged(endpoint, true, null, null, at),
                        SubscriberReconnecting r => new ConnectionChanged(endpoint, false, r.Delay, r.Error.Message, at),
                        SubscriberFaulted f => new ConnectionChanged(endpoint, false, null, f.Error.Message, at),
                        _ => null,
                    };
                    if (mapped is not null)
                    {
                        events.TryWrite(mapped);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }
}
