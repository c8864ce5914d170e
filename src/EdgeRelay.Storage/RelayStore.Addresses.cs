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
}
