using FASTER.core;

namespace EdgeRelay.Storage.Faster;

/// <summary>
/// Rebuilds the registry and the pending index on open: the address snapshot first, then one scan
/// of the committed log from its head.
/// </summary>
/// <remarks>
/// Replay rules: Message, MessageMoved, MessagesAcked and MessagesExpired records always apply (an
/// ack of an id that is not pending is ignored: its message was below the head or acked twice; a
/// moved message whose original record was truncated is put back in id order); address records
/// (created, revoked, renewed, policy, notification endpoint) apply only at or above the snapshot's
/// covered address (below it, the snapshot already reflects them).
/// Records the crash left uncommitted are not in the scan at all: FASTER recovers to the last commit.
/// Anything that cannot happen in a log this store wrote (a kind it does not know, a message for an
/// address never created, an address created twice) fails the open with
/// <see cref="InvalidDataException"/> rather than starting with a state no one wrote.
/// </remarks>
internal sealed class Replay : ILogEntryConsumer
{
    private readonly AddressIndex _registry;
    private readonly long _snapshotAddress;
    private long[] _ackIds = new long[64];

    private Replay(AddressIndex registry, long snapshotAddress)
    {
        _registry = registry;
        _snapshotAddress = snapshotAddress;
    }

    public long Records { get; private set; }

    public long PendingMessages { get; private set; }

    public long PendingBytes { get; private set; }

    /// <summary>Set by the first record that cannot be applied; FASTER calls <see cref="Consume"/> under its epoch, so the error is thrown after it returns.</summary>
    private InvalidDataException? Failure { get; set; }

    /// <summary>
    /// Loads snapshot and log into a new registry, sized from the snapshot's count so that it does not grow
    /// (and copy itself) while millions of addresses arrive. Returns it, the snapshot's covered address (0 if
    /// none) and the replay counters.
    /// </summary>
    public static (AddressIndex Registry, long SnapshotAddress, Replay Replay) Run(FasterLog log, string dataDirectory)
    {
        var registry = new AddressIndex();
        long snapshotAddress = 0;
        if (AddressSnapshot.TryRead(
            dataDirectory,
            out var covered,
            count => registry = new AddressIndex((int)Math.Min(count, int.MaxValue)),
            info =>
            {
                if (!registry.TryAdd(new AddressEntry(info)))
                {
                    throw new InvalidDataException($"The address snapshot lists address {info.Id} twice.");
                }
            }))
        {
            snapshotAddress = covered;
        }

        var committed = log.CommittedUntilAddress;
        if (snapshotAddress > committed)
        {
            throw new InvalidDataException(
                $"The address snapshot covers the log until {snapshotAddress}, but the log is committed only until {committed}: " +
                "log files were lost or replaced. Refusing to open.");
        }

        if (snapshotAddress == 0 && log.BeginAddress > FirstValidAddress)
        {
            throw MissingSnapshot(log.BeginAddress);
        }

        if (snapshotAddress != 0 && log.BeginAddress > snapshotAddress)
        {
            throw new InvalidDataException(
                $"The log head ({log.BeginAddress}) is past the address snapshot's covered address ({snapshotAddress}): " +
                "address records between them are lost. Was an older snapshot restored? Refusing to open.");
        }

        var replay = new Replay(registry, snapshotAddress);
        using (var iterator = log.Scan(log.BeginAddress, committed))
        {
            while (TryConsumeNext(iterator, replay, dataDirectory))
            {
                if (replay.Failure is not null)
                {
                    throw replay.Failure;
                }
            }

            if (replay.Failure is not null)
            {
                throw replay.Failure;
            }

            if (iterator.NextAddress < committed)
            {
                throw new InvalidDataException($"The log scan stopped at {iterator.NextAddress}, before the committed tail {committed}.");
            }
        }

        return (registry, snapshotAddress, replay);
    }

    /// <summary>
    /// FASTER's scan throws its own exception for an entry whose checksum or length is wrong (and has already
    /// moved past it): below the commit point that is a damaged committed record, which must stop the open.
    /// </summary>
    private static bool TryConsumeNext(FasterLogScanIterator iterator, Replay replay, string dataDirectory)
    {
        try
        {
            return iterator.TryConsumeNext(replay);
        }
        catch (FasterException ex)
        {
            throw new InvalidDataException(
                $"The relay log in '{dataDirectory}' is damaged: replaying the committed log stopped near log address {iterator.NextAddress} ({ex.Message}). " +
                "Those records were acknowledged; refusing to start without them. Restore the data folder from a backup.",
                ex);
        }
    }

    public void Consume(ReadOnlySpan<byte> entry, long currentAddress, long nextAddress)
    {
        if (Failure is not null)
        {
            return;
        }

        try
        {
            Apply(entry, currentAddress);
            Records++;
        }
        catch (InvalidDataException ex)
        {
            Failure = ex;
        }
    }

    /// <summary>FASTER's first record address (<c>Constants.kFirstValidAddress</c>, internal to FASTER): an untruncated log begins here.</summary>
    internal const long FirstValidAddress = 64;

    private static InvalidDataException MissingSnapshot(long beginAddress) =>
        new($"The log was truncated (head at {beginAddress}) but '{AddressSnapshot.FileName}' is missing: the address records " +
            "before the head are lost. Restore the snapshot file. Refusing to open.");

    private void Apply(ReadOnlySpan<byte> record, long address)
    {
        switch (LogRecords.ReadKind(record, address))
        {
            case LogRecordKind.AddressCreated:
                {
                    LogRecords.ReadAddressCreated(record, address, out var aid, out var key, out var createdAt, out var expiresAt);
                    if (address < _snapshotAddress)
                    {
                        return;
                    }

                    var info = new AddressInfo(aid, key, createdAt, expiresAt, revokedAt: 0);
                    if (!_registry.TryAdd(new AddressEntry(info)))
                    {
                        throw new InvalidDataException($"Relay log record at address {address}: address {aid} is created a second time.");
                    }

                    return;
                }

            case LogRecordKind.AddressRevoked:
                {
                    LogRecords.ReadAddressRevoked(record, address, out var aid, out var at);
                    if (address < _snapshotAddress)
                    {
                        return;
                    }

                    var entry = Find(aid, address);
                    if (!entry.Info.IsRevoked)
                    {
                        entry.Info = entry.Info.WithRevokedAt(at);
                    }

                    return;
                }

            case LogRecordKind.Message:
                {
                    LogRecords.ReadMessage(record, address, out var aid, out var receivedAt, out var ciphertext);
                    Find(aid, address).Pending.Append(new PendingEntry(address, ciphertext.Length, receivedAt));
                    PendingMessages++;
                    PendingBytes += ciphertext.Length;
                    return;
                }

            case LogRecordKind.AddressRenewed:
                {
                    LogRecords.ReadAddressRenewed(record, address, out var aid, out var expiresAt);
                    Change(aid, address, info => info.WithExpiresAt(expiresAt));
                    return;
                }

            case LogRecordKind.AddressPolicySet:
                {
                    LogRecords.ReadAddressPolicySet(record, address, out var aid, out var policy);
                    Change(aid, address, info => info.WithPolicy(policy));
                    return;
                }

            case LogRecordKind.AddressNotifySet:
                {
                    LogRecords.ReadAddressNotifySet(record, address, out var aid, out var endpoint);
                    Change(aid, address, info => info.WithNotifyEndpoint(endpoint));
                    return;
                }

            case LogRecordKind.MessageMoved:
                {
                    LogRecords.ReadMessageMoved(record, address, out var aid, out var id, out var receivedAt, out var ciphertext);
                    if (Find(aid, address).Pending.InsertOrRelocate(new PendingEntry(id, ciphertext.Length, receivedAt) { Location = address }))
                    {
                        PendingMessages++;
                        PendingBytes += ciphertext.Length;
                    }

                    return;
                }

            case LogRecordKind.MessagesAcked:
            case LogRecordKind.MessagesExpired:
                {
                    LogRecords.ReadMessagesAcked(record, address, out var aid, out var count);
                    if (_ackIds.Length < count)
                    {
                        _ackIds = new long[Math.Max(count, _ackIds.Length * 2)];
                    }

                    for (var i = 0; i < count; i++)
                    {
                        _ackIds[i] = LogRecords.ReadAckedId(record, i);
                    }

                    var removed = Find(aid, address).Pending.Remove(_ackIds.AsSpan(0, count), out var removedBytes);
                    PendingMessages -= removed;
                    PendingBytes -= removedBytes;
                    return;
                }
        }
    }

    /// <summary>An owner's change to an address: applied unless the snapshot already reflects it.</summary>
    private void Change(AddressId aid, long address, Func<AddressInfo, AddressInfo> change)
    {
        if (address >= _snapshotAddress)
        {
            var entry = Find(aid, address);
            entry.Info = change(entry.Info);
        }
    }

    private AddressEntry Find(AddressId aid, long address) =>
        _registry.TryGetValue(aid, out var entry)
            ? entry
            : throw new InvalidDataException($"Relay log record at address {address} refers to address {aid}, which was never created.");
}
