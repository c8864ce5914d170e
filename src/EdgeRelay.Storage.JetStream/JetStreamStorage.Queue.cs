using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EdgeRelay.Storage.JetStream;

// The message queue: appends go into the next round; reads come from the index, the cache or the stream; acks,
// expiry and purges take effect here at once and travel to the other nodes as records.
public sealed partial class JetStreamStorage
{
    public AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out MessageId id, out DurabilityTicket ticket)
    {
        ThrowIfDisposed();
        id = MessageId.None;
        ticket = DurabilityTicket.None;
        if (ciphertext.Length > _options.MaxPayloadBytes)
        {
            return AppendStatus.PayloadTooLarge;
        }

        lock (_gate)
        {
            if (!_entries.TryGetValue(aid, out var entry) || entry.Info is null)
            {
                return AppendStatus.UnknownAddress;
            }

            if (entry.Info.IsRevoked)
            {
                return AppendStatus.Revoked;
            }

            var now = _time.GetUtcNow();
            if (now.ToUnixTimeSeconds() >= entry.Info.ExpiresAt)
            {
                return AppendStatus.Expired;
            }

            if (entry.PendingCount + entry.ReservedCount >= _options.MaxPendingMessagesPerAddress
                || entry.PendingBytes + entry.ReservedBytes + ciphertext.Length > _options.MaxPendingBytesPerAddress)
            {
                return AppendStatus.QuotaAddress;
            }

            if (_options.MaxPendingBytes > 0 && _pendingBytes + _reservedBytes + ciphertext.Length > _options.MaxPendingBytes)
            {
                return AppendStatus.QuotaServer;
            }

            if (!_publisher.HasRoom)
            {
                return AppendStatus.Backpressure;
            }

            var record = Records.Message(_writer, aid, now.ToUnixTimeMilliseconds(), ciphertext);
            ticket = _publisher.Enqueue(_options.MessageStream(entry.Partition), _options.MessageSubject(entry.Partition), record);
            entry.ReservedCount++;
            entry.ReservedBytes += ciphertext.Length;
            _reservedCount++;
            _reservedBytes += ciphertext.Length;
            return AppendStatus.Appended;
        }
    }

    public async ValueTask<AppendResult> AppendAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default)
    {
        while (true)
        {
            var status = TryAppend(aid, ciphertext.Span, out var id, out var ticket);
            if (status != AppendStatus.Backpressure)
            {
                return new AppendResult(status, id, ticket);
            }

            // The batch is full: the round that takes it makes room.
            await _publisher.FlushAsync().WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            return _entries.TryGetValue(aid, out var entry) && entry.Pending is not null ? entry.Pending.CopyAfter(after, destination) : 0;
        }
    }

    public async ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            if (!IsPendingLocked(aid, message.Id))
            {
                return -1;
            }

            if (_cache.TryGet(message.Id, out var cached))
            {
                _memoryReads++;
                return CopyCiphertext(cached, aid, message, destination.Span);
            }
        }

        var partition = (int)(message.Id.Value % _options.Partitions);
        var seq = (ulong)(message.Id.Value / _options.Partitions);
        NatsMsg<byte[]> stored;
        try
        {
            stored = await _messageStreams[partition].GetDirectAsync(new StreamMsgGetRequest { Seq = seq }, NatsRawSerializer<byte[]>.Default, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            stored = default;
        }
        catch (NatsException ex)
        {
            throw new IOException($"Message {message.Id} could not be read from stream {_options.MessageStream(partition)}.", ex);
        }

        lock (_gate)
        {
            _deviceReads++; // under the gate, as every counter of GetStatistics
            var found = stored.Data is { Length: > 0 } data && stored.Headers?.Code is null or 0 or 200;
            if (!IsPendingLocked(aid, message.Id))
            {
                return -1; // acknowledged or expired while the read was on its way: delivered or dropped
            }

            if (!found)
            {
                throw new IOException($"Message {message.Id} is pending but stream {_options.MessageStream(partition)} has no record {seq}.");
            }

            return CopyCiphertext(stored.Data!, aid, message, destination.Span);
        }
    }

    public ValueTask<WriteResult<AckStatus>> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ids.Length, AckIdsLimit, nameof(ids));
        if (ids.IsEmpty)
        {
            return new(new WriteResult<AckStatus>(AckStatus.Acked, DurabilityTicket.None));
        }

        lock (_gate)
        {
            if (!_entries.TryGetValue(aid, out var entry) || (entry.Info is null && entry.PendingCount == 0))
            {
                return new(new WriteResult<AckStatus>(AckStatus.UnknownAddress, DurabilityTicket.None));
            }

            var distinct = ids.Span.ToArray().Distinct().ToArray();
            foreach (var id in distinct)
            {
                if (entry.Pending is null || !entry.Pending.Contains(id))
                {
                    return new(new WriteResult<AckStatus>(AckStatus.UnknownMessage, DurabilityTicket.None));
                }
            }

            foreach (var id in distinct)
            {
                RemoveLocked(entry, id);
            }

            var ticket = _publisher.Enqueue(_options.MessageStream(entry.Partition), _options.MessageSubject(entry.Partition), Records.Ack(_writer, aid, distinct));
            return new(new WriteResult<AckStatus>(AckStatus.Acked, ticket));
        }
    }

    public ValueTask<long> ExpireAsync(long receivedAtOrBeforeUnixMs, CancellationToken ct = default)
    {
        ThrowIfDisposed();
        lock (_gate)
        {
            var partitions = new List<int>();
            var count = ExpireLocked(receivedAtOrBeforeUnixMs, -1, partitions);
            _expired += count;
            foreach (var p in partitions)
            {
                _publisher.Enqueue(_options.MessageStream(p), _options.MessageSubject(p), Records.Expire(_writer, receivedAtOrBeforeUnixMs));
            }

            return new(count);
        }
    }

    private bool IsPendingLocked(AddressId aid, MessageId id) =>
        _entries.TryGetValue(aid, out var entry) && entry.Pending is not null && entry.Pending.Contains(id);

    /// <summary>Copies a message record's ciphertext after checking that it is the message asked for.</summary>
    private static int CopyCiphertext(byte[] record, AddressId aid, PendingMessage message, Span<byte> destination)
    {
        if (Records.Kind(record) != RecordKind.Message || Records.ReadMessage(record).Aid != aid || record.Length - Records.MessageHeaderLength != message.Length)
        {
            throw new IOException($"The record of message {message.Id} is not a message of {message.Length} bytes for this address.");
        }

        record.AsSpan(Records.MessageHeaderLength).CopyTo(destination);
        return message.Length;
    }
}
