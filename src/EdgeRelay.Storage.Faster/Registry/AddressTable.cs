using System.Diagnostics.CodeAnalysis;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The registry: address → <see cref="AddressEntry"/> (its <see cref="AddressInfo"/> and pending index),
/// and the appends of address records (created, revoked, renewed, policy, notification endpoint).
/// </summary>
/// <remarks>
/// <para>Every address record is appended under <see cref="Lock"/> (and the entry's gate, which orders it
/// against the address' message appends), and <see cref="Version"/> moves with each: the snapshot copies the
/// registry under the same lock, so its covered log address splits address records exactly (every one below
/// it is in the copy, every later one lands at or above it).</para>
/// <para>Lock order: this lock, then an entry's gate. Writes that find the log buffer full release both,
/// wait for a commit and retry; none blocks a thread.</para>
/// </remarks>
internal sealed class AddressTable
{
    private readonly AddressIndex _entries;
    private readonly LogWriter _log;
    private readonly TimeProvider _time;
    private int _count;

    public AddressTable(AddressIndex entries, LogWriter log, TimeProvider time)
    {
        _entries = entries;
        _log = log;
        _time = time;
        _count = entries.Count;
    }

    /// <summary>Held while appending an address record and while the snapshot copies the registry.</summary>
    public Lock Lock { get; } = new();

    /// <summary>Bumped (under <see cref="Lock"/>) by every address record; the snapshot remembers the version it wrote.</summary>
    public long Version { get; private set; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Every entry, for maintenance passes (a live view: entries added meanwhile may or may not appear).</summary>
    public IEnumerable<KeyValuePair<AddressId, AddressEntry>> Entries => _entries;

    public bool TryGetEntry(AddressId aid, [NotNullWhen(true)] out AddressEntry? entry) => _entries.TryGetValue(aid, out entry);

    public bool TryGetInfo(AddressId aid, [NotNullWhen(true)] out AddressInfo? info)
    {
        if (_entries.TryGetValue(aid, out var entry))
        {
            info = entry.Info;
            return true;
        }

        info = null;
        return false;
    }

    /// <summary>Copies every address' current info; call under <see cref="Lock"/>.</summary>
    public AddressInfo[] CopyInfos()
    {
        var addresses = new AddressInfo[_entries.Count];
        var i = 0;
        foreach (var pair in _entries)
        {
            addresses[i++] = pair.Value.Info;
        }

        return i == addresses.Length ? addresses : addresses[..i];
    }

    public async ValueTask<long> CreateAsync(AddressId aid, ReadOnlyMemory<byte> ownerPublicKey, long expiresAtUnixSeconds, CancellationToken ct)
    {
        if (aid.IsEmpty)
        {
            throw new ArgumentException("The all-zero address id is reserved.", nameof(aid));
        }

        if (ownerPublicKey.Length != AddressInfo.OwnerPublicKeyLength)
        {
            throw new ArgumentException($"The owner public key is {AddressInfo.OwnerPublicKeyLength} bytes (Ed25519), not {ownerPublicKey.Length}.", nameof(ownerPublicKey));
        }

        var key = ownerPublicKey;
        var record = new byte[LogRecords.AddressCreatedSize];
        for (var attempt = 1; ; attempt++)
        {
            var createdAt = NowUnixSeconds();
            if (expiresAtUnixSeconds <= createdAt)
            {
                throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAtUnixSeconds, $"The expiry must be after now ({createdAt}).");
            }

            lock (Lock)
            {
                if (_entries.TryGetValue(aid, out _))
                {
                    ThrowHelper.ThrowAddressExists(aid);
                }

                LogRecords.WriteAddressCreated(record, aid, key.Span, createdAt, expiresAtUnixSeconds);
                if (_log.TryEnqueue(record, out var address))
                {
                    _entries.TryAdd(new AddressEntry(new AddressInfo(aid, key.Span, createdAt, expiresAtUnixSeconds, revokedAt: 0)));
                    _count++;
                    Version++;
                    return address;
                }
            }

            await _log.WaitForSpaceAsync(attempt, ct);
        }
    }

    public async ValueTask<(RevokeStatus Status, long Record)> RevokeAsync(AddressId aid, CancellationToken ct)
    {
        var record = new byte[LogRecords.AddressRevokedSize];
        for (var attempt = 1; ; attempt++)
        {
            lock (Lock)
            {
                if (!_entries.TryGetValue(aid, out var entry))
                {
                    return (RevokeStatus.UnknownAddress, 0);
                }

                // The entry's gate orders the revocation against concurrent appends: no message record of
                // this address can follow the revocation record in the log.
                lock (entry.Gate)
                {
                    var info = entry.Info;
                    if (info.IsRevoked)
                    {
                        return (RevokeStatus.AlreadyRevoked, 0);
                    }

                    var at = Math.Max(1, NowUnixSeconds()); // 0 means "not revoked"
                    LogRecords.WriteAddressRevoked(record, aid, at);
                    if (_log.TryEnqueue(record, out var address))
                    {
                        entry.Info = info.WithRevokedAt(at);
                        Version++;
                        return (RevokeStatus.Revoked, address);
                    }
                }
            }

            await _log.WaitForSpaceAsync(attempt, ct);
        }
    }

    public ValueTask<(AddressUpdateStatus Status, long Record)> RenewAsync(AddressId aid, long expiresAtUnixSeconds, CancellationToken ct)
    {
        var record = new byte[LogRecords.AddressRenewedSize];
        LogRecords.WriteAddressRenewed(record, aid, expiresAtUnixSeconds);
        return UpdateAsync(
            aid,
            record,
            expiresAtUnixSeconds,
            static (info, expiresAt, now) =>
                info.IsRevoked ? AddressUpdateStatus.Revoked
                : info.ExpiresAt <= now ? AddressUpdateStatus.Expired
                : expiresAt <= now ? throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAt, $"The expiry must be after now ({now}).")
                : AddressUpdateStatus.Updated,
            static (info, expiresAt) => info.WithExpiresAt(expiresAt),
            ct);
    }

    public ValueTask<(AddressUpdateStatus Status, long Record)> SetPolicyAsync(AddressId aid, DeliveryPolicy policy, CancellationToken ct)
    {
        if (!policy.IsValid)
        {
            throw new ArgumentException($"Invalid delivery policy {policy}.", nameof(policy));
        }

        var record = new byte[LogRecords.AddressPolicySetSize];
        LogRecords.WriteAddressPolicySet(record, aid, policy);
        return UpdateAsync(aid, record, policy, static (_, _, _) => AddressUpdateStatus.Updated, static (info, policy) => info.WithPolicy(policy), ct);
    }

    public ValueTask<(AddressUpdateStatus Status, long Record)> SetNotifyEndpointAsync(AddressId aid, string? endpoint, CancellationToken ct)
    {
        var utf8 = endpoint is null ? [] : System.Text.Encoding.UTF8.GetBytes(endpoint);
        if (endpoint is not null && (utf8.Length == 0 || utf8.Length > AddressInfo.MaxNotifyEndpointBytes))
        {
            throw new ArgumentException($"A notification endpoint is 1 to {AddressInfo.MaxNotifyEndpointBytes} UTF-8 bytes.", nameof(endpoint));
        }

        var record = new byte[LogRecords.NotifyHeaderSize + utf8.Length];
        LogRecords.WriteAddressNotifySet(record, aid, utf8);
        return UpdateAsync(aid, record, endpoint, static (_, _, _) => AddressUpdateStatus.Updated, static (info, endpoint) => info.WithNotifyEndpoint(endpoint), ct);
    }

    /// <summary>
    /// The one path of every owner change to an address: under the registry lock and the entry's gate,
    /// check, append the record, then publish the new <see cref="AddressInfo"/>.
    /// </summary>
    private async ValueTask<(AddressUpdateStatus Status, long Record)> UpdateAsync<T>(
        AddressId aid,
        byte[] record,
        T value,
        Func<AddressInfo, T, long, AddressUpdateStatus> check,
        Func<AddressInfo, T, AddressInfo> apply,
        CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            lock (Lock)
            {
                if (!_entries.TryGetValue(aid, out var entry))
                {
                    return (AddressUpdateStatus.UnknownAddress, 0);
                }

                lock (entry.Gate)
                {
                    var info = entry.Info;
                    var status = check(info, value, NowUnixSeconds());
                    if (status != AddressUpdateStatus.Updated)
                    {
                        return (status, 0);
                    }

                    if (_log.TryEnqueue(record, out var address))
                    {
                        entry.Info = apply(info, value);
                        Version++;
                        return (AddressUpdateStatus.Updated, address);
                    }
                }
            }

            await _log.WaitForSpaceAsync(attempt, ct);
        }
    }

    private long NowUnixSeconds() => _time.GetUtcNow().ToUnixTimeSeconds();
}
