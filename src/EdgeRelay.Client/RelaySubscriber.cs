using System.Threading.Channels;
using EdgeRelay.Addressing;
using EdgeRelay.Protocol;
using NSec.Cryptography;

namespace EdgeRelay.Client;

/// <summary>
/// A push subscription to any number of one relay's addresses that outlives its connections: one stream of
/// every address' messages (<see cref="Deliveries"/>), kept open across idle periods (keepalive), dropped
/// connections and relay restarts.
/// </summary>
/// <remarks>
/// <para>It connects, and for each address authenticates (one AUTH per address, so that a refusal names its
/// address), sets the address' delivery policy if one was given, and subscribes. When the connection ends, for
/// whatever reason, it waits (see <see cref="RelaySubscriberOptions.InitialReconnectDelay"/>: a delay that doubles
/// per failed attempt up to <see cref="RelaySubscriberOptions.MaxReconnectDelay"/>, drawn at random from the upper
/// half of that, so that the subscribers of a restarted relay do not return in step), connects again and does
/// it all again. <see cref="Events"/> says so each time.</para>
/// <para><b>At least once.</b> A message pushed but not acknowledged before a connection ended is pushed again
/// on the next one, with the same id, and <see cref="Deliveries"/> passes it on again: callers de-duplicate by
/// <c>(address, id)</c>. Acknowledge with <see cref="AckAsync(AddressId, IReadOnlyCollection{long}, CancellationToken)"/> once a message is stored.</para>
/// <para><b>Errors.</b> A refusal that concerns one address (AUTH, SET_POLICY or SUBSCRIBE answered with an
/// error that keeps the connection open) drops that address and is reported as a
/// <see cref="SubscriberAddressFaulted"/>; it is not retried. An error no retry can fix (an unsupported protocol
/// version, a TLS failure) stops the subscriber: <see cref="SubscriberFaulted"/>, and <see cref="Deliveries"/>
/// ends with that error. Everything else (refused or lost connections, timeouts, SHUTTING_DOWN) is retried.</para>
/// <para>Files: this one is the surface (addresses, acks, disposal); <c>RelaySubscriber.Connection.cs</c> the
/// connect-subscribe-wait loop, the per-address pumps and the back-off.</para>
/// </remarks>
public sealed partial class RelaySubscriber : IAsyncDisposable
{
    /// <summary>Events kept for a reader that has fallen behind; older ones are dropped first.</summary>
    private const int EventCapacity = 256;

    private readonly RelaySubscriberOptions _options;

    private readonly string[] _given;

    // The service's endpoints in the order to try them; only the connect loop changes it after construction.
    private string[] _endpoints;
    private readonly Lock _sync = new();
    private readonly Dictionary<AddressId, Claim> _claims = [];
    private readonly Channel<AddressedMessage> _deliveries = Channel.CreateUnbounded<AddressedMessage>();
    private readonly Channel<SubscriberEvent> _events = Channel.CreateBounded<SubscriberEvent>(
        new BoundedChannelOptions(EventCapacity) { FullMode = BoundedChannelFullMode.DropOldest });

    private readonly CancellationTokenSource _stop = new();
    private Connection? _connection;
    private Task _run = Task.CompletedTask;
    private SubscriberState _state;
    private int _started;
    private int _disposed;

    /// <summary>A subscriber to the relay at "host:port"; nothing happens until <see cref="Start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The options' maximum delay is below their initial one.</exception>
    public RelaySubscriber(string endpoint, RelaySubscriberOptions? options = null)
        : this([endpoint], options)
    {
    }

    /// <summary>
    /// A subscriber to a service that runs on several nodes: each connection goes to the first of
    /// <paramref name="endpoints"/> that can be reached (<see cref="RelayClient.ConnectAnyAsync"/>). The alternative
    /// endpoints a relay announces in HELLO are added after them, so that a subscriber given one endpoint still
    /// finds the service's other nodes once that one is down.
    /// </summary>
    /// <exception cref="ArgumentException">No endpoint, or an empty one.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' maximum delay is below their initial one.</exception>
    public RelaySubscriber(IReadOnlyList<string> endpoints, RelaySubscriberOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("No endpoint to connect to.", nameof(endpoints));
        }

        foreach (var endpoint in endpoints)
        {
            ArgumentException.ThrowIfNullOrEmpty(endpoint, nameof(endpoints));
        }

        _options = options?.Clone() ?? new RelaySubscriberOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxReconnectDelay, _options.InitialReconnectDelay, "options." + nameof(RelaySubscriberOptions.MaxReconnectDelay));
        _given = [.. endpoints];
        _endpoints = _given;
    }

    /// <summary>The endpoints each connection tries, in order: those given, then those the relay announced.</summary>
    public IReadOnlyList<string> Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>
    /// A subscriber to the relay that issued <paramref name="card"/>: its endpoints (the main one, then the
    /// alternatives, in order), and TLS pinned as the card says (<see cref="RelayClientOptions.ForCard"/>), the rest
    /// from <paramref name="options"/>.
    /// </summary>
    public static RelaySubscriber ForCard(AddressCard card, RelaySubscriberOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        var own = options?.Clone() ?? new RelaySubscriberOptions();
        own.Client = RelayClientOptions.ForCard(card, own.Client);
        return new RelaySubscriber(card.Endpoints, own);
    }

    /// <summary>
    /// Every subscribed address' messages, in the order each address' DELIVERs arrived. Completes when the
    /// subscriber is disposed, or with the error of a <see cref="SubscriberFaulted"/>. Read it steadily: it is
    /// unbounded, held in check only by <see cref="RelaySubscriberOptions.Credit"/> per address.
    /// </summary>
    public ChannelReader<AddressedMessage> Deliveries => _deliveries.Reader;

    /// <summary>
    /// What happened, for the user: connected, reconnecting (attempt, delay, why), an address refused, stopped.
    /// Keeps the latest 256 for a reader that lags (older ones are dropped); <see cref="State"/> is always current.
    /// </summary>
    public ChannelReader<SubscriberEvent> Events => _events.Reader;

    public SubscriberState State
    {
        get
        {
            lock (_sync)
            {
                return _state;
            }
        }
    }

    /// <summary>The addresses this subscriber holds: those added and neither removed nor refused.</summary>
    public IReadOnlyList<AddressId> Addresses
    {
        get
        {
            lock (_sync)
            {
                return [.. _claims.Keys];
            }
        }
    }

    /// <summary>Starts connecting, in the background. Once only.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The subscriber has already been started.");
        }

        SetState(SubscriberState.Connecting);
        _run = RunAsync();
    }

    /// <summary>
    /// Adds an address, owned by <paramref name="owner"/> (its Ed25519 key, used to sign AUTH on every
    /// connection: keep it undisposed until the address is removed), optionally with the delivery policy to set
    /// on it. Completes once the address is subscribed on the current connection; at once if there is none
    /// (before <see cref="Start"/>, or while reconnecting), in which case it is subscribed on the next one and a
    /// refusal then is reported only as a <see cref="SubscriberAddressFaulted"/>.
    /// </summary>
    /// <exception cref="RelayException">The relay refused the address (it has been dropped, as the event says).</exception>
    /// <exception cref="InvalidOperationException">The address is already there.</exception>
    public async Task AddAsync(AddressId address, Key owner, DeliveryPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (owner.Algorithm != SignatureAlgorithm.Ed25519)
        {
            throw new ArgumentException("An address' owner key is an Ed25519 key.", nameof(owner));
        }

        if (policy is { IsValid: false })
        {
            throw new ArgumentException($"Not a valid delivery policy: {policy}.", nameof(policy));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var claim = new Claim(address, owner, policy);
        Connection? connection;
        lock (_sync)
        {
            if (!_claims.TryAdd(address, claim))
            {
                throw new InvalidOperationException($"The subscriber already holds {address}.");
            }

            // Read under the lock the run loop sets it under: either this claim is in the loop's list for the
            // new connection, or it is bound here, never both and never neither.
            connection = _connection;
        }

        if (connection is null)
        {
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            if (await BindAsync(connection, claim, linked.Token) is { } refusal)
            {
                throw refusal;
            }
        }
        catch (RelayException ex) when (ex.ConnectionClosed)
        {
            // The connection was lost meanwhile: the run loop reconnects and binds every claim, this one included.
        }
    }

    /// <summary>Removes an address: UNSUBSCRIBE, so that what it had in flight goes back to pending. False if it was not there.</summary>
    /// <remarks><see cref="Deliveries"/> may still hold messages of the address, pushed before the removal.</remarks>
    public async Task<bool> RemoveAsync(AddressId address)
    {
        Binding? binding;
        lock (_sync)
        {
            if (!_claims.Remove(address, out var claim))
            {
                return false;
            }

            claim.Removed = true;
            binding = claim.Binding;
            claim.Binding = null;
        }

        if (binding is not null)
        {
            await binding.Subscription.DisposeAsync();
        }

        return true;
    }

    /// <summary>
    /// Acknowledges stored messages of <paramref name="address"/>: the relay removes them durably before this
    /// completes, and never delivers them again. Ids already acknowledged (a copy delivered twice) count as
    /// done. Those pushed on the current connection give their credit back to it.
    /// </summary>
    /// <exception cref="RelayException">There is no connection, or it was lost: nothing is lost either, the
    /// messages come again once reconnected (acknowledge them then).</exception>
    /// <exception cref="InvalidOperationException">The subscriber does not hold the address (any more).</exception>
    public async Task AckAsync(AddressId address, IReadOnlyCollection<long> messageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        Binding binding;
        lock (_sync)
        {
            if (!_claims.TryGetValue(address, out var claim))
            {
                throw new InvalidOperationException($"The subscriber does not hold {address}; its messages are delivered again to whoever subscribes to it.");
            }

            binding = claim.Binding ?? throw new RelayException(ErrorCode.None, "not connected to the relay; unacknowledged messages are delivered again once reconnected", null, connectionFailed: true);
        }

        int credit = binding.Settle(messageIds);
        var acking = AckAsync(binding.Connection.Client, address, messageIds, cancellationToken);
        var granting = credit > 0 ? binding.Subscription.GrantAsync(credit, cancellationToken) : Task.CompletedTask;
        await Task.WhenAll(acking, granting);
    }

    private static async Task AckAsync(RelayClient client, AddressId address, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        try
        {
            await client.AckAsync(address, ids, cancellationToken);
        }
        catch (RelayException ex) when (ex.Code == ErrorCode.UnknownMessage && ids.Count > 1)
        {
            // ACK is all or nothing, so one id acknowledged before (a redelivered copy acked twice) would leave
            // the batch's new ones pending and coming back forever: one by one instead, on this rare path.
            foreach (var id in ids)
            {
                await AckAsync(client, address, [id], cancellationToken);
            }
        }
        catch (RelayException ex) when (ex.Code == ErrorCode.UnknownMessage)
        {
            // Not pending any more: acknowledged before, which PROTOCOL.md 4.7 says to treat as done.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        await _run;
        SetState(SubscriberState.Disposed);
        _deliveries.Writer.TryComplete();
        _events.Writer.TryComplete();
        _stop.Dispose();
    }

    private void SetState(SubscriberState state)
    {
        lock (_sync)
        {
            if (_state is not (SubscriberState.Disposed or SubscriberState.Faulted))
            {
                _state = state;
            }
        }
    }

    private void Publish(SubscriberEvent e) => _events.Writer.TryWrite(e);

    /// <summary>An address the caller added, with what it takes to subscribe it again on each connection.</summary>
    private sealed class Claim(AddressId address, Key owner, DeliveryPolicy? policy)
    {
        public AddressId Address { get; } = address;

        public Key Owner { get; } = owner;

        public DeliveryPolicy? Policy { get; } = policy;

        /// <summary>Its subscription on the current connection; null while there is none. Under the subscriber's lock.</summary>
        public Binding? Binding { get; set; }

        /// <summary>Removed or refused: a bind finishing late must undo itself. Under the subscriber's lock.</summary>
        public bool Removed { get; set; }
    }
}
