using System.Diagnostics.CodeAnalysis;
using EdgeRelay.Storage;

namespace EdgeRelay.Testing.Storage;

/// <summary>
/// The storage contracts in memory, for tests: a log of records (each write is one) with a durable prefix,
/// and the registry and queues derived from it, as the FASTER backend has, minus the disk.
/// </summary>
/// <remarks>
/// <para>Durability is what tests steer. By default a flush happens at once when asked for (as soon as
/// anything waits for a ticket). With <see cref="HoldFlushes"/>, nothing becomes durable until the test
/// calls <see cref="ReleaseFlushes"/> (or <see cref="FailFlushes"/>): a stand-in for a commit that has not
/// finished, to prove that no reply promises what is not durable yet. <see cref="Abandon"/> is a crash: the
/// place keeps only what was flushed.</para>
/// <para>One lock guards everything: this is a reference implementation for tests, not a fast one. It runs the
/// same conformance suites as the real backends, so the tests that rely on it rely on the contract.</para>
/// <para>Longer than most files because it is a whole backend (registry, queues and their records); the
/// durability a test steers is in InMemoryStorage.Durability.cs.</para>
/// </remarks>
public sealed partial class InMemoryStorage : IRelayStorage
{
    private readonly Lock _lock = new();
    private readonly InMemoryStoragePlace _place;
    private readonly TimeProvider _time;
    private readonly StorageLimits _limits;
    private readonly List<InMemoryRecord> _log;
    private readonly Dictionary<AddressId, Entry> _entries = [];
    private readonly List<(long Position, TaskCompletionSource Done)> _waiters = [];
    private TaskCompletionSource _round = NewRound();
    private int _durable;
    private bool _held;
    private bool _closed;
    private long _flushes;
    private long _pendingMessages;
    private long _pendingBytes;
    private long _expired;

    private InMemoryStorage(InMemoryStoragePlace place, TimeProvider time, StorageLimits limits)
    {
        _place = place;
        _time = time;
        _limits = limits;
        _log = [.. place.Snapshot()];
        _durable = _log.Count;
        for (var i = 0; i < _log.Count; i++)
        {
            Apply(i + 1, _log[i]);
        }
    }
    /// <summary>Opens a storage on <paramref name="place"/> (a new one if null) and replays what survived there.</summary>
    public static InMemoryStorage Open(InMemoryStoragePlace? place = null, TimeProvider? time = null, StorageLimits? limits = null) =>
        new(place ?? new InMemoryStoragePlace(), time ?? TimeProvider.System, limits ?? new StorageLimits());

    public bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            info = _entries.TryGetValue(aid, out var entry) ? entry.Info : null;
            return info is not null;
        }
    }

    public ValueTask<DurabilityTicket> CreateAddressAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct = default)
    {
        if (aid.IsEmpty)
        {
            throw new ArgumentException("The all-zero address id is reserved.", nameof(aid));
        }

        if (ownerPublicKey.Length != AddressInfo.OwnerPublicKeyLength)
        {
            throw new ArgumentException($"The owner public key is {AddressInfo.OwnerPublicKeyLength} bytes.", nameof(ownerPublicKey));
        }

        lock (_lock)
        {
            ThrowIfClosed();
            var now = NowSeconds();
            if (expiresAtUnixSeconds <= now)
            {
                throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAtUnixSeconds, $"The expiry must be after now ({now}).");
            }

            if (_entries.ContainsKey(aid))
            {
                throw new InvalidOperationException($"Address {aid} already exists.");
            }

            return new(Write(new InMemoryRecord.Created(aid, ownerPublicKey.ToArray(), now, expiresAtUnixSeconds)));
        }
    }

    public ValueTask<WriteResult<RevokeStatus>> RevokeAsync(AddressId aid, CancellationToken ct = default)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (!_entries.TryGetValue(aid, out var entry))
            {
                return new(new WriteResult<RevokeStatus>(RevokeStatus.UnknownAddress, default));
            }

            if (entry.Info.IsRevoked)
            {
                return new(new WriteResult<RevokeStatus>(RevokeStatus.AlreadyRevoked, default));
            }

            return new(new WriteResult<RevokeStatus>(RevokeStatus.Revoked, Write(new InMemoryRecord.Revoked(aid, Math.Max(1, NowSeconds())))));
        }
    }

    public ValueTask<WriteResult<AddressUpdateStatus>> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct = default) =>
        Update(aid, info =>
        {
            var now = NowSeconds();
            return info.IsRevoked ? AddressUpdateStatus.Revoked
                : info.ExpiresAt <= now ? AddressUpdateStatus.Expired
                : expiresAtUnixSeconds <= now ? throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAtUnixSeconds, $"The expiry must be after now ({now}).")
                : AddressUpdateStatus.Updated;
        }, new InMemoryRecord.Renewed(aid, expiresAtUnixSeconds));

    public ValueTask<WriteResult<AddressUpdateStatus>> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct = default)
    {
        if (!policy.IsValid)
        {
            throw new ArgumentException($"Invalid delivery policy {policy}.", nameof(policy));
        }

        return Update(aid, _ => AddressUpdateStatus.Updated, new InMemoryRecord.PolicySet(aid, policy));
    }

    public ValueTask<WriteResult<AddressUpdateStatus>> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct = default)
    {
        if (endpoint is not null && (endpoint.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(endpoint) > AddressInfo.MaxNotifyEndpointBytes))
        {
            throw new ArgumentException($"A notification endpoint is 1 to {AddressInfo.MaxNotifyEndpointBytes} UTF-8 bytes.", nameof(endpoint));
        }

        return Update(aid, _ => AddressUpdateStatus.Updated, new InMemoryRecord.NotifySet(aid, endpoint));
    }

    public AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out MessageId id, out DurabilityTicket ticket)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            var status = CheckAppend(aid, ciphertext.Length);
            if (status != AppendStatus.Appended)
            {
                (id, ticket) = (default, default);
                return status;
            }

            ticket = Write(new InMemoryRecord.Message(aid, _time.GetUtcNow().ToUnixTimeMilliseconds(), ciphertext.ToArray()));
            id = new MessageId(ticket.Position);
            return AppendStatus.Appended;
        }
    }

    public async ValueTask<AppendResult> AppendAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default)
    {
        while (true)
        {
            Task room;
            lock (_lock)
            {
                ThrowIfClosed();
                var status = TryAppend(aid, ciphertext.Span, out var id, out var ticket);
                if (status != AppendStatus.Backpressure)
                {
                    return new AppendResult(status, id, ticket);
                }

                room = RequestRoundLocked();
            }

            await room.WaitAsync(ct);
        }
    }

    public int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination)
    {
        var written = 0;
        lock (_lock)
        {
            ThrowIfClosed();
            if (!_entries.TryGetValue(aid, out var entry))
            {
                return 0;
            }

            foreach (var message in entry.Pending)
            {
                if (written == destination.Length || message.Id > _durable)
                {
                    break;
                }

                if (message.Id > after.Value)
                {
                    destination[written++] = new PendingMessage(new MessageId(message.Id), message.Payload.Length, message.ReceivedAtUnixMs);
                }
            }
        }

        PendingListed?.Invoke(aid, written);
        return written;
    }

    public ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (destination.Length < message.Length)
            {
                throw new ArgumentException($"The destination holds {destination.Length} bytes; the message has {message.Length}.", nameof(destination));
            }

            if (!_entries.TryGetValue(aid, out var entry) || entry.Find(message.Id.Value) is not { } stored)
            {
                return new(-1);
            }

            stored.Payload.CopyTo(destination);
            return new(stored.Payload.Length);
        }
    }

    public ValueTask<WriteResult<AckStatus>> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, CancellationToken ct = default)
    {
        if (ids.Length > MaxAckIds)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), ids.Length, $"At most {MaxAckIds} ids.");
        }

        lock (_lock)
        {
            ThrowIfClosed();
            if (!_entries.TryGetValue(aid, out var entry))
            {
                return new(new WriteResult<AckStatus>(AckStatus.UnknownAddress, default));
            }

            if (ids.IsEmpty)
            {
                return new(new WriteResult<AckStatus>(AckStatus.Acked, default));
            }

            foreach (var id in ids.Span)
            {
                if (id.Value > _durable || entry.Find(id.Value) is null)
                {
                    return new(new WriteResult<AckStatus>(AckStatus.UnknownMessage, default));
                }
            }

            var list = new long[ids.Length];
            for (var i = 0; i < list.Length; i++)
            {
                list[i] = ids.Span[i].Value;
            }

            return new(new WriteResult<AckStatus>(AckStatus.Acked, Write(new InMemoryRecord.Removed(aid, list, Expired: false))));
        }
    }

    public ValueTask<long> ExpireAsync(long receivedAtOrBeforeUnixMs, CancellationToken ct = default)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            long dropped = 0;
            foreach (var (aid, entry) in _entries.ToArray())
            {
                var ids = entry.Pending.Where(m => m.ReceivedAtUnixMs <= receivedAtOrBeforeUnixMs).Select(m => m.Id).ToArray();
                if (ids.Length > 0)
                {
                    Write(new InMemoryRecord.Removed(aid, ids, Expired: true));
                    dropped += ids.Length;
                }
            }

            return new(dropped);
        }
    }

    public StorageStatistics GetStatistics()
    {
        lock (_lock)
        {
            ThrowIfClosed();
            return new StorageStatistics(_entries.Count, _pendingMessages, _pendingBytes, _flushes, _expired, 0, 0, 0, 1, _log.Count + 1, _durable + 1);
        }
    }

    /// <summary>Graceful close: everything written becomes durable (held or not), then every call throws <see cref="ObjectDisposedException"/>.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (!_closed)
            {
                FlushLocked();
                _closed = true;
            }
        }

        return default;
    }

    private DurabilityTicket Write(InMemoryRecord record)
    {
        _log.Add(record);
        Apply(_log.Count, record);
        return DurabilityTicket.At(_log.Count);
    }

    private AppendStatus CheckAppend(AddressId aid, int length)
    {
        if (length > _limits.MaxPayloadBytes)
        {
            return AppendStatus.PayloadTooLarge;
        }

        if (!_entries.TryGetValue(aid, out var entry))
        {
            return AppendStatus.UnknownAddress;
        }

        if (entry.Info.IsRevoked)
        {
            return AppendStatus.Revoked;
        }

        if (entry.Info.ExpiresAt <= NowSeconds())
        {
            return AppendStatus.Expired;
        }

        if (entry.Pending.Count >= _limits.MaxPendingMessagesPerAddress || entry.PendingBytes + length > _limits.MaxPendingBytesPerAddress)
        {
            return AppendStatus.QuotaAddress;
        }

        return MaxUndurableRecords > 0 && _log.Count - _durable >= MaxUndurableRecords ? AppendStatus.Backpressure : AppendStatus.Appended;
    }

    private ValueTask<WriteResult<AddressUpdateStatus>> Update(AddressId aid, Func<AddressInfo, AddressUpdateStatus> check, InMemoryRecord record)
    {
        lock (_lock)
        {
            ThrowIfClosed();
            if (!_entries.TryGetValue(aid, out var entry))
            {
                return new(new WriteResult<AddressUpdateStatus>(AddressUpdateStatus.UnknownAddress, default));
            }

            var status = check(entry.Info);
            return new(status == AddressUpdateStatus.Updated
                ? new WriteResult<AddressUpdateStatus>(status, Write(record))
                : new WriteResult<AddressUpdateStatus>(status, default));
        }
    }

    /// <summary>Applies a record to the derived state: on write, and on open for every durable record.</summary>
    private void Apply(long position, InMemoryRecord record)
    {
        switch (record)
        {
            case InMemoryRecord.Created created:
                _entries[created.Aid] = new Entry(new AddressInfo(created.Aid, created.Key, created.CreatedAt, created.ExpiresAt, revokedAt: 0));
                break;
            case InMemoryRecord.Revoked revoked:
                _entries[revoked.Aid].Info = _entries[revoked.Aid].Info.WithRevokedAt(revoked.At);
                break;
            case InMemoryRecord.Renewed renewed:
                _entries[renewed.Aid].Info = _entries[renewed.Aid].Info.WithExpiresAt(renewed.ExpiresAt);
                break;
            case InMemoryRecord.PolicySet policy:
                _entries[policy.Aid].Info = _entries[policy.Aid].Info.WithPolicy(policy.Policy);
                break;
            case InMemoryRecord.NotifySet notify:
                _entries[notify.Aid].Info = _entries[notify.Aid].Info.WithNotifyEndpoint(notify.Endpoint);
                break;
            case InMemoryRecord.Message message:
                var entry = _entries[message.Aid];
                entry.Pending.Add(new Stored(position, message.Payload, message.ReceivedAtUnixMs));
                entry.PendingBytes += message.Payload.Length;
                _pendingMessages++;
                _pendingBytes += message.Payload.Length;
                break;
            case InMemoryRecord.Removed removed:
                var from = _entries[removed.Aid];
                foreach (var id in removed.Ids.Distinct())
                {
                    if (from.Find(id) is { } stored)
                    {
                        from.Pending.Remove(stored);
                        from.PendingBytes -= stored.Payload.Length;
                        _pendingMessages--;
                        _pendingBytes -= stored.Payload.Length;
                        _expired += removed.Expired ? 1 : 0;
                    }
                }

                break;
        }
    }

    private long NowSeconds() => _time.GetUtcNow().ToUnixTimeSeconds();

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    private sealed record Stored(long Id, byte[] Payload, long ReceivedAtUnixMs);

    private sealed class Entry(AddressInfo info)
    {
        public AddressInfo Info { get; set; } = info;

        public List<Stored> Pending { get; } = [];

        public long PendingBytes { get; set; }

        public Stored? Find(long id) => Pending.Find(m => m.Id == id);
    }
}
