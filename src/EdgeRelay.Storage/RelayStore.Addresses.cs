using System.Diagnostics.CodeAnalysis;

namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    /// <summary>
    /// Registers a new address owned by <paramref name="ownerPublicKey"/> (Ed25519, 32 bytes) and
    /// returns the log address of its record: await <see cref="WaitForCommitAsync"/> on it before
    /// handing the address out. Blocks briefly if the log buffer is full (until the next commit).
    /// </summary>
    /// <exception cref="InvalidOperationException">The address already exists (revoked or not).</exception>
    /// <exception cref="ArgumentException">Empty id, key not 32 bytes, or an expiry not after now.</exception>
    public long CreateAddress(AddressId aid, ReadOnlySpan<byte> ownerPublicKey, long expiresAtUnixSeconds)
    {
        if (aid.IsEmpty)
        {
            throw new ArgumentException("The all-zero address id is reserved.", nameof(aid));
        }

        if (ownerPublicKey.Length != AddressInfo.OwnerPublicKeyLength)
        {
            throw new ArgumentException($"The owner public key is {AddressInfo.OwnerPublicKeyLength} bytes (Ed25519), not {ownerPublicKey.Length}.", nameof(ownerPublicKey));
        }

        EnterOperation();
        try
        {
            var key = ownerPublicKey.ToArray();
            Span<byte> record = stackalloc byte[LogRecords.AddressCreatedSize];
            for (var attempt = 1; ; attempt++)
            {
                var createdAt = NowUnixSeconds();
                if (expiresAtUnixSeconds <= createdAt)
                {
                    throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAtUnixSeconds, $"The expiry must be after now ({createdAt}).");
                }

                lock (_registryLock)
                {
                    if (_registry.ContainsKey(aid))
                    {
                        ThrowHelper.ThrowAddressExists(aid);
                    }

                    LogRecords.WriteAddressCreated(record, aid, key, createdAt, expiresAtUnixSeconds);
                    if (TryEnqueue(record, out var address))
                    {
                        _registry[aid] = new AddressEntry(new AddressInfo(aid, key, createdAt, expiresAtUnixSeconds, revokedAt: 0));
                        _addressCount++;
                        _registryVersion++;
                        return address;
                    }
                }

                WaitForLogSpace(attempt);
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>The registry's own (immutable, shared) view of the address; no allocation.</summary>
    public bool TryGetAddress(AddressId aid, [NotNullWhen(true)] out AddressInfo? info)
    {
        ThrowIfClosed();
        if (_registry.TryGetValue(aid, out var entry))
        {
            info = entry.Info;
            return true;
        }

        info = null;
        return false;
    }

    /// <summary>
    /// Revokes the address: it accepts no new message; its pending messages stay readable and ackable
    /// by the owner. On <see cref="RevokeStatus.Revoked"/>, <paramref name="recordAddress"/> is the
    /// record to await with <see cref="WaitForCommitAsync"/>; otherwise 0.
    /// </summary>
    public RevokeStatus Revoke(AddressId aid, out long recordAddress)
    {
        recordAddress = 0;
        EnterOperation();
        try
        {
            Span<byte> record = stackalloc byte[LogRecords.AddressRevokedSize];
            for (var attempt = 1; ; attempt++)
            {
                lock (_registryLock)
                {
                    if (!_registry.TryGetValue(aid, out var entry))
                    {
                        return RevokeStatus.UnknownAddress;
                    }

                    // The entry's gate orders the revocation against concurrent appends: no message
                    // record of this address can follow the revocation record in the log.
                    lock (entry.Gate)
                    {
                        var info = entry.Info;
                        if (info.IsRevoked)
                        {
                            return RevokeStatus.AlreadyRevoked;
                        }

                        var at = Math.Max(1, NowUnixSeconds()); // 0 means "not revoked"
                        LogRecords.WriteAddressRevoked(record, aid, at);
                        if (TryEnqueue(record, out recordAddress))
                        {
                            entry.Info = info.WithRevokedAt(at);
                            _registryVersion++;
                            return RevokeStatus.Revoked;
                        }
                    }
                }

                WaitForLogSpace(attempt);
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Moves the address' expiry to <paramref name="expiresAtUnixSeconds"/> (after now). A revoked or
    /// already expired address is not renewed. On <see cref="AddressUpdateStatus.Updated"/> await
    /// <see cref="WaitForCommitAsync"/> on <paramref name="recordAddress"/> before handing out a card.
    /// </summary>
    public AddressUpdateStatus Renew(AddressId aid, long expiresAtUnixSeconds, out long recordAddress)
    {
        Span<byte> record = stackalloc byte[LogRecords.AddressRenewedSize];
        LogRecords.WriteAddressRenewed(record, aid, expiresAtUnixSeconds);
        return UpdateAddress(aid, record, expiresAtUnixSeconds, static (info, expiresAt, now) =>
            info.IsRevoked ? AddressUpdateStatus.Revoked
            : info.ExpiresAt <= now ? AddressUpdateStatus.Expired
            : expiresAt <= now ? throw new ArgumentOutOfRangeException(nameof(expiresAtUnixSeconds), expiresAt, $"The expiry must be after now ({now}).")
            : AddressUpdateStatus.Updated,
            static (info, expiresAt) => info.WithExpiresAt(expiresAt),
            out recordAddress);
    }

    /// <summary>Sets the delivery policy (persisted; it survives restarts). Await the record's commit before confirming.</summary>
    /// <exception cref="ArgumentException">The policy is not valid (<see cref="DeliveryPolicy.IsValid"/>).</exception>
    public AddressUpdateStatus SetPolicy(AddressId aid, DeliveryPolicy policy, out long recordAddress)
    {
        if (!policy.IsValid)
        {
            throw new ArgumentException($"Invalid delivery policy {policy.Kind} with a {policy.WindowMilliseconds} ms window.", nameof(policy));
        }

        Span<byte> record = stackalloc byte[LogRecords.AddressPolicySetSize];
        LogRecords.WriteAddressPolicySet(record, aid, policy);
        return UpdateAddress(aid, record, policy, static (_, _, _) => AddressUpdateStatus.Updated, static (info, policy) => info.WithPolicy(policy), out recordAddress);
    }

    /// <summary>Sets (or, with null, clears) where wake-ups for this address go. Await the record's commit before confirming.</summary>
    /// <exception cref="ArgumentException">The endpoint is empty or longer than <see cref="AddressInfo.MaxNotifyEndpointBytes"/> in UTF-8.</exception>
    public AddressUpdateStatus SetNotifyEndpoint(AddressId aid, string? endpoint, out long recordAddress)
    {
        var utf8 = endpoint is null ? [] : System.Text.Encoding.UTF8.GetBytes(endpoint);
        if (endpoint is not null && (utf8.Length == 0 || utf8.Length > AddressInfo.MaxNotifyEndpointBytes))
        {
            throw new ArgumentException($"A notification endpoint is 1 to {AddressInfo.MaxNotifyEndpointBytes} UTF-8 bytes.", nameof(endpoint));
        }

        var record = new byte[LogRecords.NotifyHeaderSize + utf8.Length];
        LogRecords.WriteAddressNotifySet(record, aid, utf8);
        return UpdateAddress(aid, record, endpoint, static (_, _, _) => AddressUpdateStatus.Updated, static (info, endpoint) => info.WithNotifyEndpoint(endpoint), out recordAddress);
    }

    /// <summary>
    /// The one path of every owner change to an address: under the registry lock (so the snapshot splits
    /// address records exactly) and the entry's gate (ordered against appends), check, append the record,
    /// then publish the new <see cref="AddressInfo"/>.
    /// </summary>
    private AddressUpdateStatus UpdateAddress<T>(
        AddressId aid,
        ReadOnlySpan<byte> record,
        T value,
        Func<AddressInfo, T, long, AddressUpdateStatus> check,
        Func<AddressInfo, T, AddressInfo> apply,
        out long recordAddress)
    {
        recordAddress = 0;
        EnterOperation();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                lock (_registryLock)
                {
                    if (!_registry.TryGetValue(aid, out var entry))
                    {
                        return AddressUpdateStatus.UnknownAddress;
                    }

                    lock (entry.Gate)
                    {
                        var info = entry.Info;
                        var status = check(info, value, NowUnixSeconds());
                        if (status != AddressUpdateStatus.Updated)
                        {
                            return status;
                        }

                        if (TryEnqueue(record, out recordAddress))
                        {
                            entry.Info = apply(info, value);
                            _registryVersion++;
                            return AddressUpdateStatus.Updated;
                        }
                    }
                }

                WaitForLogSpace(attempt);
            }
        }
        finally
        {
            ExitOperation();
        }
    }
}
