using System.Diagnostics.CodeAnalysis;
using EdgeRelay.Storage.JetStream.Index;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

/// <summary>
/// The storage contracts on NATS JetStream, for several relay nodes that serve as one. An address stream keeps
/// each address' newest registry record; message streams (one per partition) keep messages and what removed
/// them (acks, expiry, purges) in order. Every node follows every stream and keeps the in-memory index the
/// contracts' synchronous lookups need, so any node resolves any address and serves any owner.
/// </summary>
/// <remarks>
/// <para>Writes are batched and made durable in rounds (<see cref="Publisher"/>): a ticket is durable once
/// JetStream acknowledged its record at the streams' replication and this node applied it. Message ids are
/// stream positions (<c>sequence × partitions + partition</c>), which JetStream assigns when it stores a
/// message, so appends return <see cref="MessageId.None"/> and the message is listed under its id once
/// durable.</para>
/// <para>Registry changes show at once on the node that made them and on the others as their follower
/// applies the record, a few milliseconds later. Quotas are counted per node from its index: two nodes
/// taking the last places of one address at the same instant can pass a quota by what they took at once.</para>
/// </remarks>
public sealed partial class JetStreamStorage : IRelayStorage, IStorageReadiness, ISharedStorage, IDeliveryCoordination
{
    /// <summary>Most ids one ack record carries (8 bytes each, well inside a NATS message).</summary>
    private const int AckIdsLimit = 16_384;

    private readonly JetStreamStorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NatsConnection _connection;
    private readonly bool _ownsConnection;
    private readonly NatsJSContext _js;
    private readonly long _writer = Random.Shared.NextInt64(1, long.MaxValue);
    private readonly Lock _gate = new();
    private readonly Dictionary<AddressId, AddressEntry> _entries = [];
    private readonly HashSet<AddressEntry> _backlogged = [];
    private readonly PayloadCache _cache;
    private readonly Dictionary<string, StreamFollower> _followers = [];
    private readonly INatsJSStream[] _messageStreams;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Deleter _deleter;
    private readonly Publisher _publisher;
    private readonly Presence _presence;
    private int _addresses;
    private long _pendingMessages;
    private long _pendingBytes;
    private long _reservedCount;
    private long _reservedBytes;
    private long _expired;
    private long _memoryReads;
    private long _deviceReads;
    private long _remoteArrivals;
    private ITimer? _maintenance;
    private int _disposed;

    private JetStreamStorage(JetStreamStorageOptions options, TimeProvider time, ILogger logger, NatsConnection connection, bool ownsConnection)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _connection = connection;
        _ownsConnection = ownsConnection;
        _js = new NatsJSContext(connection);
        _cache = new PayloadCache(options.ReadCacheBytes);
        _messageStreams = new INatsJSStream[options.Partitions];
        _deleter = new Deleter(_js, options, logger);
        _publisher = new Publisher(_js, options, _writer, (stream, seq) => _followers[stream].WaitAppliedAsync(seq), AddressWritesStored, logger);
        _presence = new Presence(_js, options, time, _writer, seq => _followers[options.PresenceStream].WaitAppliedAsync(seq), logger);
        _presence.PushChanged = OnPresenceChanged;
    }

    /// <summary>
    /// Opens the store: creates its streams if they do not exist yet (or updates their replication and limits),
    /// then reads every stream to its end to build this node's index, then starts taking writes.
    /// </summary>
    /// <param name="connection">A connection to use (the caller disposes it); null connects with <paramref name="options"/>.</param>
    /// <param name="clientLoggers">Where the NATS client's own log goes (its connects, disconnects and reconnects), when it connects here.</param>
    /// <exception cref="InvalidOperationException">The streams exist with another number of partitions.</exception>
    public static async Task<JetStreamStorage> OpenAsync(JetStreamStorageOptions options, TimeProvider? time = null, ILogger? logger = null, NatsConnection? connection = null, ILoggerFactory? clientLoggers = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var owned = connection is null;
        connection ??= new NatsConnection(ConnectionOptions(options) with { LoggerFactory = clientLoggers ?? NullLoggerFactory.Instance });
        var storage = new JetStreamStorage(options, time ?? TimeProvider.System, logger ?? NullLogger.Instance, connection, owned);
        try
        {
            await storage.StartAsync(ct).ConfigureAwait(false);
            return storage;
        }
        catch
        {
            await storage.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The NATS client options the store connects with.</summary>
    public static NatsOpts ConnectionOptions(JetStreamStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tls = options.TlsCaFile is null && options.TlsCertFile is null
            ? NatsTlsOpts.Default
            : new NatsTlsOpts { Mode = TlsMode.Require, CaFile = options.TlsCaFile, CertFile = options.TlsCertFile, KeyFile = options.TlsKeyFile };
        return NatsOpts.Default with
        {
            Url = options.Url,
            Name = options.ClientName,
            TlsOpts = tls,
            AuthOpts = options.CredentialsFile is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { CredsFile = options.CredentialsFile },
            MaxReconnectRetry = -1,
        };
    }

    public int MaxPayloadBytes => _options.MaxPayloadBytes;

    public int MaxAckIds => AckIdsLimit;

    public Exception? Failure => _publisher.Failure;

    public Action<double>? FlushObserver
    {
        get => _publisher.Observer;
        set => _publisher.Observer = value;
    }

    public Action<AddressId>? RemoteArrival { get; set; }

    public SharedStorageStatistics GetSharedStatistics()
    {
        long applied = 0, behind = 0;
        foreach (var follower in _followers.Values)
        {
            applied += follower.AppliedCount;
            behind += follower.Behind;
        }

        return new SharedStorageStatistics(applied, behind, Interlocked.Read(ref _remoteArrivals), _publisher.Retries, LeasesHeld, LeaseHandOvers, WakeClaimsLost, LeaseTakeOvers);
    }

    /// <summary>Not ready while the connection to the cluster is not open (the client reconnects by itself).</summary>
    public string? NotReadyReason => _connection.ConnectionState == NatsConnectionState.Open
        ? null
        : "NATS connection " + _connection.ConnectionState.ToString().ToLowerInvariant();

    public bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            info = _entries.TryGetValue(aid, out var entry) ? entry.Info : null;
            return info is not null;
        }
    }

    public ValueTask<DurabilityTicket> CreateAddressAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        if (aid.IsEmpty)
        {
            throw new ArgumentException("The address id is empty.", nameof(aid));
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (expiresAtUnixSeconds <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAtUnixSeconds, "The expiry must be after now.");
        }

        var info = new AddressInfo(aid, ownerPublicKey.Span, now, expiresAtUnixSeconds, 0);
        lock (_gate)
        {
            var entry = Entry(aid);
            if (entry.Info is not null)
            {
                throw new InvalidOperationException($"Address {aid} already exists.");
            }

            return new ValueTask<DurabilityTicket>(WriteAddressLocked(entry, info));
        }
    }

    public ValueTask<WriteResult<RevokeStatus>> RevokeAsync(AddressId aid, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            if (!_entries.TryGetValue(aid, out var entry) || entry.Info is null)
            {
                return new(new WriteResult<RevokeStatus>(RevokeStatus.UnknownAddress, DurabilityTicket.None));
            }

            if (entry.Info.IsRevoked)
            {
                return new(new WriteResult<RevokeStatus>(RevokeStatus.AlreadyRevoked, DurabilityTicket.None));
            }

            var ticket = WriteAddressLocked(entry, entry.Info.WithRevokedAt(Math.Max(1, _time.GetUtcNow().ToUnixTimeSeconds())));
            return new(new WriteResult<RevokeStatus>(RevokeStatus.Revoked, ticket));
        }
    }

    public ValueTask<WriteResult<AddressUpdateStatus>> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expiresAtUnixSeconds, now);
        return new(Update(aid, info => info.IsRevoked ? AddressUpdateStatus.Revoked : info.ExpiresAt <= now ? AddressUpdateStatus.Expired : AddressUpdateStatus.Updated, info => info.WithExpiresAt(expiresAtUnixSeconds)));
    }

    public ValueTask<WriteResult<AddressUpdateStatus>> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        if (!policy.IsValid)
        {
            throw new ArgumentException($"The delivery policy {policy} is not valid.", nameof(policy));
        }

        return new(Update(aid, _ => AddressUpdateStatus.Updated, info => info.WithPolicy(policy)));
    }

    public ValueTask<WriteResult<AddressUpdateStatus>> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        if (endpoint is not null && (endpoint.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(endpoint) > AddressInfo.MaxNotifyEndpointBytes))
        {
            throw new ArgumentException($"The notification endpoint must be 1 to {AddressInfo.MaxNotifyEndpointBytes} bytes of UTF-8.", nameof(endpoint));
        }

        return new(Update(aid, _ => AddressUpdateStatus.Updated, info => info.WithNotifyEndpoint(endpoint)));
    }

    public StorageStatistics GetStatistics()
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            // Appended and not yet back from the stream counts too: the contract's "durable or not".
            return new StorageStatistics(_addresses, _pendingMessages + _reservedCount, _pendingBytes + _reservedBytes, _publisher.Rounds, _expired, 0, _memoryReads, _deviceReads, 0, 0, 0);
        }
    }

    public bool IsDurable(DurabilityTicket ticket) => _publisher.IsDurable(ticket);

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => _publisher.WaitDurableAsync(ticket, ct);

    public void RequestFlush()
    {
        ThrowIfDisposed();
        _publisher.RequestFlush();
    }

    public Task FlushAsync()
    {
        ThrowIfDisposed();
        return _publisher.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _maintenance?.Dispose();
        await _presence.StopAsync().ConfigureAwait(false);
        await _publisher.StopAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var follower in _followers.Values)
        {
            await follower.StoppedAsync.ConfigureAwait(false);
        }

        await _deleter.StopAsync().ConfigureAwait(false);
        _publisher.Fail(new ObjectDisposedException(nameof(JetStreamStorage)));
        if (_ownsConnection)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _deleter.Dispose();
        _publisher.Dispose();
        _presence.Dispose();
    }

    private static int PartitionOf(AddressId aid, int partitions) => (int)((aid.Hi ^ aid.Lo) % (ulong)partitions);

    private AddressEntry Entry(AddressId aid)
    {
        if (!_entries.TryGetValue(aid, out var entry))
        {
            entry = new AddressEntry(aid, PartitionOf(aid, _options.Partitions));
            _entries.Add(aid, entry);
        }

        return entry;
    }

    private WriteResult<AddressUpdateStatus> Update(AddressId aid, Func<AddressInfo, AddressUpdateStatus> check, Func<AddressInfo, AddressInfo> change)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(aid, out var entry) || entry.Info is null)
            {
                return new(AddressUpdateStatus.UnknownAddress, DurabilityTicket.None);
            }

            var status = check(entry.Info);
            return status != AddressUpdateStatus.Updated
                ? new(status, DurabilityTicket.None)
                : new(status, WriteAddressLocked(entry, change(entry.Info)));
        }
    }

    /// <summary>Shows the new entry at once and queues its record; the caller holds the gate.</summary>
    private DurabilityTicket WriteAddressLocked(AddressEntry entry, AddressInfo info)
    {
        if (entry.Info is null)
        {
            _addresses++;
        }

        entry.Info = info;
        entry.WritesInFlight++;
        return _publisher.Enqueue(_options.AddressStream, _options.AddressSubjectPrefix + info.Id.ToString(), Records.Address(_writer, info), info.Id);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
