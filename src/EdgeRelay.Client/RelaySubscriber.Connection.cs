using System.Security.Authentication;
using System.Threading.Channels;
using EdgeRelay.Protocol;

namespace EdgeRelay.Client;

public sealed partial class RelaySubscriber
{
    /// <summary>
    /// The delay before reconnection attempt <paramref name="attempt"/> (1 for the first): a ceiling that starts
    /// at <paramref name="initial"/> and doubles per attempt up to <paramref name="max"/>, of which a random part
    /// of the upper half is taken (<paramref name="random"/> in [0, 1)). Never below half the ceiling, so the
    /// delays grow however the draws fall; never above <paramref name="max"/>.
    /// </summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan initial, TimeSpan max, double random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        double ceiling = Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, Math.Min(attempt - 1, 62)));
        return TimeSpan.FromTicks((long)(ceiling * (0.5 + (0.5 * random))));
    }

    /// <summary>
    /// The endpoints given, then the alternatives the relay just announced that are not among them: the latest
    /// announcement replaces an earlier one, so the list stays as short as the service's own.
    /// </summary>
    private void Learn(IReadOnlyList<string> announced)
    {
        var given = _given;
        Volatile.Write(ref _endpoints, [.. given, .. announced.Where(a => !given.Contains(a, StringComparer.OrdinalIgnoreCase))]);
    }

    /// <summary>Errors that another attempt would only repeat: the subscriber stops and says so.</summary>
    private static bool IsPermanent(Exception error) =>
        error is RelayException relay
        && (relay.Code == ErrorCode.UnsupportedVersion || relay.InnerException is AuthenticationException);

    private async Task RunAsync()
    {
        await Task.Yield();
        var stop = _stop.Token;
        int attempt = 0;
        while (true)
        {
            Exception error;
            Connection? connection = null;
            try
            {
                var client = await RelayClient.ConnectAnyAsync(_endpoints, _options.Client, stop);
                Learn(client.ServerInfo.AlternativeEndpoints);
                connection = new Connection(client);
                List<Claim> claims;
                lock (_sync)
                {
                    _connection = connection;
                    claims = [.. _claims.Values];
                }

                // Pipelined: every address' AUTH, SET_POLICY and SUBSCRIBE go out together, and a refusal of
                // one address only drops that one. A lost connection fails them all and lands below.
                await Task.WhenAll(claims.Select(claim => BindAsync(connection, claim, stop)));
                attempt = 0;
                SetState(SubscriberState.Connected);
                Publish(new SubscriberConnected(Addresses));
                error = await client.Failed.WaitAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsPermanent(ex))
            {
                SetState(SubscriberState.Faulted);
                Publish(new SubscriberFaulted(ex));
                _deliveries.Writer.TryComplete(ex);
                return;
            }
            catch (Exception ex)
            {
                error = ex;
            }
            finally
            {
                await EndAsync(connection);
            }

            attempt++;
            var delay = Backoff(attempt, _options.InitialReconnectDelay, _options.MaxReconnectDelay, Random.Shared.NextDouble());

            // The wait's timer exists before the event is out: whoever reads "reconnecting in 2 s" may move a
            // test clock by 2 s and be sure the wait sees it.
            var wait = Task.Delay(delay, _options.Client.TimeProvider, stop);
            SetState(SubscriberState.Reconnecting);
            Publish(new SubscriberReconnecting(attempt, delay, error));
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Authenticates, sets the policy and subscribes one address on <paramref name="connection"/>. Returns the
    /// relay's refusal of that address (it has been dropped and reported); throws when the connection fails.
    /// </summary>
    private async Task<RelayException?> BindAsync(Connection connection, Claim claim, CancellationToken cancellationToken)
    {
        var client = connection.Client;
        PushSubscription subscription;
        try
        {
            await client.AuthenticateAsync(claim.Address, claim.Owner, cancellationToken);
            if (claim.Policy is { } policy)
            {
                await client.SetPolicyAsync(claim.Address, policy, cancellationToken);
            }

            subscription = await client.SubscribeAsync(claim.Address, _options.Credit, cancellationToken);
        }
        catch (RelayException ex) when (!ex.ConnectionClosed)
        {
            bool dropped;
            lock (_sync)
            {
                // Removed meanwhile by the caller: nothing left to report about it.
                dropped = !claim.Removed && _claims.Remove(claim.Address);
                claim.Removed = true;
            }

            if (dropped)
            {
                Publish(new SubscriberAddressFaulted(claim.Address, ex));
            }

            return ex;
        }

        var binding = new Binding(connection, subscription);
        bool current;
        lock (_sync)
        {
            current = !claim.Removed && _connection == connection;
            if (current)
            {
                claim.Binding = binding;
                connection.Pumps.Add(PumpAsync(claim.Address, binding));
            }
        }

        if (!current)
        {
            // Removed while subscribing, or the connection was replaced: undo, so nothing stays in flight here.
            await subscription.DisposeAsync();
        }

        return null;
    }

    /// <summary>Moves one address' DELIVERs on one connection into the shared stream, noting what is in flight.</summary>
    private async Task PumpAsync(AddressId address, Binding binding)
    {
        try
        {
            await foreach (var batch in binding.Subscription.Deliveries.ReadAllAsync())
            {
                binding.Track(batch);
                foreach (var message in batch)
                {
                    _deliveries.Writer.TryWrite(new AddressedMessage(address, message));
                }
            }
        }
        catch (Exception ex) when (ex is RelayException or ChannelClosedException or OperationCanceledException)
        {
            // The connection ended: the run loop learns why from the client itself, reports it and reconnects.
        }
    }

    /// <summary>Forgets a connection: no claim is bound to it any more, the client is closed, its pumps have finished.</summary>
    private async Task EndAsync(Connection? connection)
    {
        if (connection is null)
        {
            return;
        }

        Task[] pumps;
        lock (_sync)
        {
            if (_connection == connection)
            {
                _connection = null;
            }

            foreach (var claim in _claims.Values)
            {
                if (claim.Binding?.Connection == connection)
                {
                    claim.Binding = null;
                }
            }

            pumps = [.. connection.Pumps];
        }

        await connection.Client.DisposeAsync();
        await Task.WhenAll(pumps);
    }

    private sealed class Connection(RelayClient client)
    {
        public RelayClient Client { get; } = client;

        /// <summary>One per bound address. Under the subscriber's lock.</summary>
        public List<Task> Pumps { get; } = [];
    }

    /// <summary>An address' subscription on one connection, and the ids pushed on it not yet acknowledged.</summary>
    private sealed class Binding(Connection connection, PushSubscription subscription)
    {
        private readonly HashSet<long> _inFlight = [];

        public Connection Connection { get; } = connection;

        public PushSubscription Subscription { get; } = subscription;

        public void Track(ReceivedMessage[] batch)
        {
            lock (_inFlight)
            {
                foreach (var message in batch)
                {
                    _inFlight.Add(message.Id);
                }
            }
        }

        /// <summary>
        /// Takes acknowledged ids out of flight and returns how many were pushed on this connection: the credit
        /// to give back. An id pushed on an earlier connection used that one's credit, which died with it.
        /// </summary>
        public int Settle(IEnumerable<long> ids)
        {
            int settled = 0;
            lock (_inFlight)
            {
                foreach (var id in ids)
                {
                    if (_inFlight.Remove(id))
                    {
                        settled++;
                    }
                }
            }

            return settled;
        }
    }
}
