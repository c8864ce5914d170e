using System.Buffers;

namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    /// <summary>
    /// Copies the address' committed, un-acked messages, oldest first, into <paramref name="destination"/>
    /// and returns how many were written (0 for an unknown address). No allocation.
    /// </summary>
    public int GetPending(AddressId aid, Span<PendingMessage> destination) => GetPending(aid, afterId: -1, destination);

    /// <summary>
    /// As <see cref="GetPending(AddressId, Span{PendingMessage})"/>, from the first message with an id
    /// greater than <paramref name="afterId"/>: pages through a backlog larger than the buffer, or
    /// continues after messages already in flight to the owner.
    /// </summary>
    public int GetPending(AddressId aid, long afterId, Span<PendingMessage> destination)
    {
        ThrowIfClosed();
        if (!_registry.TryGetValue(aid, out var entry))
        {
            return 0;
        }

        var committed = CommittedUntilAddress;
        lock (entry.Gate)
        {
            return entry.Pending.CopyCommitted(afterId, committed, destination);
        }
    }

    /// <summary>The pending message <paramref name="messageId"/> of <paramref name="aid"/>, committed or not.</summary>
    public bool TryGetPending(AddressId aid, long messageId, out PendingMessage message)
    {
        ThrowIfClosed();
        message = default;
        if (!_registry.TryGetValue(aid, out var entry))
        {
            return false;
        }

        lock (entry.Gate)
        {
            return entry.Pending.TryGet(messageId, out message);
        }
    }

    /// <summary>
    /// Reads a message's ciphertext from the log into a new array of exactly its length. Returns null
    /// if the log no longer holds it (acked and truncated away) or it is not committed yet. Its address
    /// and receive time are in the <see cref="PendingMessage"/> it came from.
    /// </summary>
    /// <remarks>
    /// The pull path, not the ingest path: FASTER's random read allocates its own context per call.
    /// A message acked but not yet truncated is still returned; delivery is at-least-once anyway.
    /// <paramref name="messageId"/> must be an id this store returned: FASTER trusts the length it finds
    /// at the address.
    /// </remarks>
    /// <exception cref="ArgumentException">The address holds a record that is not a message.</exception>
    public async ValueTask<byte[]?> ReadPayloadAsync(long messageId, CancellationToken ct = default)
    {
        EnterOperation();
        try
        {
            var (owner, length) = await ReadRecordAsync(messageId, LogRecords.MessageHeaderSize + _maxPayloadBytes, ct);
            if (owner is null)
            {
                return null;
            }

            using (owner)
            {
                return Ciphertext(owner.Memory.Span[..length], messageId).ToArray();
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// As <see cref="ReadPayloadAsync(PendingMessage, Memory{byte}, CancellationToken)"/>, but if compaction
    /// moved the message since <paramref name="message"/> was taken from the index, reads it at its new
    /// location. -1 only when the message is no longer pending (acked, or expired) and no longer in the log.
    /// </summary>
    public async ValueTask<int> ReadPendingAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default)
    {
        var read = await ReadPayloadAsync(message, destination, ct);
        if (read >= 0 || !_registry.TryGetValue(aid, out var entry))
        {
            return read;
        }

        PendingMessage current;
        lock (entry.Gate)
        {
            if (!entry.Pending.TryGet(message.Id, out current) || current.Location == message.Location)
            {
                return -1;
            }
        }

        return await ReadPayloadAsync(current, destination, ct);
    }

    /// <summary>
    /// The pooled variant: reads <paramref name="message"/>'s ciphertext into <paramref name="destination"/>
    /// (at least <see cref="PendingMessage.Length"/> bytes, e.g. rented by the caller) and returns its
    /// length, or -1 if the log no longer holds it. A copy from memory for a recent record (see
    /// <see cref="RecentRecords"/>), else one device read of exactly the record's size.
    /// </summary>
    public async ValueTask<int> ReadPayloadAsync(PendingMessage message, Memory<byte> destination, CancellationToken ct = default)
    {
        if (destination.Length < message.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the message has {message.Length}.", nameof(destination));
        }

        EnterOperation();
        try
        {
            // The same visibility as FASTER's read below: committed and not yet truncated.
            var location = message.Location;
            if (_recent is not null && location < CommittedUntilAddress && location >= _log.BeginAddress
                && _recent.TryCopyCiphertext(location, message.Length, message.MirrorCheck, destination.Span))
            {
                return message.Length;
            }

            Interlocked.Increment(ref _deviceReads);
            var (owner, length) = await ReadRecordAsync(message.Location, LogRecords.MovedHeaderSize + message.Length, ct);
            if (owner is null)
            {
                return -1;
            }

            using (owner)
            {
                var ciphertext = Ciphertext(owner.Memory.Span[..length], message.Location);
                if (ciphertext.Length > destination.Length)
                {
                    throw new ArgumentException($"The message at {message.Id} has {ciphertext.Length} bytes, not {message.Length}.", nameof(message));
                }

                ciphertext.CopyTo(destination.Span);
                return ciphertext.Length;
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Acknowledges messages of <paramref name="aid"/>, all or nothing: if any id is not a committed,
    /// pending message of that address, returns <see cref="AckStatus.UnknownMessage"/> and changes
    /// nothing. Otherwise appends one record, removes the ids from the index at once (no later
    /// <see cref="GetPending(AddressId, Span{PendingMessage})"/> returns them) and returns the record's
    /// address in <paramref name="recordAddress"/>: await <see cref="WaitForCommitAsync"/> on it before
    /// confirming to the owner. An empty list is acked with <paramref name="recordAddress"/> 0.
    /// Blocks briefly if the log buffer is full; <see cref="AckAsync"/> waits without blocking.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">More ids than one log page holds (~524,000 with 4 MiB pages).</exception>
    public AckStatus Ack(AddressId aid, ReadOnlySpan<long> messageIds, out long recordAddress)
    {
        CheckAckCount(messageIds.Length, nameof(messageIds));
        EnterOperation();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var status = TryAckCore(aid, messageIds, out recordAddress, out var backpressure);
                if (!backpressure)
                {
                    return status;
                }

                WaitForLogSpace(attempt);
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>As <see cref="Ack"/>, but waits for log space asynchronously instead of blocking the thread.</summary>
    public async ValueTask<(AckStatus Status, long RecordAddress)> AckAsync(AddressId aid, ReadOnlyMemory<long> messageIds, CancellationToken ct = default)
    {
        CheckAckCount(messageIds.Length, nameof(messageIds));
        EnterOperation();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var status = TryAckCore(aid, messageIds.Span, out var recordAddress, out var backpressure);
                if (!backpressure)
                {
                    return (status, recordAddress);
                }

                await WaitForLogSpaceAsync(attempt, ct);
                if (IsClosing)
                {
                    ThrowHelper.ThrowDisposed();
                }
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>FASTER's random read; (null, 0) below the head or at/after the committed tail.</summary>
    private async ValueTask<(IMemoryOwner<byte>? Owner, int Length)> ReadRecordAsync(long address, int estimatedLength, CancellationToken ct)
    {
        try
        {
            return await _log.ReadAsync(address, MemoryPool<byte>.Shared, estimatedLength, ct);
        }
        catch (FASTER.core.FasterException ex)
        {
            ThrowHelper.ThrowStorageFailed(ex);
            throw; // unreachable
        }
    }

    private static ReadOnlySpan<byte> Ciphertext(ReadOnlySpan<byte> record, long location)
    {
        var offset = record.IsEmpty ? -1 : LogRecords.CiphertextOffset(record[0]);
        if (offset < 0 || record.Length < offset)
        {
            ThrowHelper.ThrowNotAMessage(location);
        }

        return record[offset..];
    }

    private void CheckAckCount(int count, string parameterName)
    {
        if (count > _maxAckIds)
        {
            throw new ArgumentOutOfRangeException(parameterName, count, $"At most {_maxAckIds} ids fit in one acknowledgement record (one log page).");
        }
    }

    private AckStatus TryAckCore(AddressId aid, ReadOnlySpan<long> messageIds, out long recordAddress, out bool backpressure)
    {
        recordAddress = 0;
        backpressure = false;
        if (!_registry.TryGetValue(aid, out var entry))
        {
            return AckStatus.UnknownAddress;
        }

        if (messageIds.IsEmpty)
        {
            return AckStatus.Acked;
        }

        // Only what GetPending could have returned can be acked: an uncommitted id is unknown to the owner.
        var committed = CommittedUntilAddress;
        int removed;
        long removedBytes;
        lock (entry.Gate)
        {
            foreach (var id in messageIds)
            {
                if (!entry.Pending.ContainsCommitted(id, committed))
                {
                    return AckStatus.UnknownMessage;
                }
            }

            bool enqueued;
            try
            {
                enqueued = LogRecordEntries.TryEnqueueAck(_log, aid, messageIds, out recordAddress);
            }
            catch (FASTER.core.FasterException ex)
            {
                ThrowHelper.ThrowStorageFailed(ex);
                throw; // unreachable
            }

            if (!enqueued)
            {
                recordAddress = 0;
                backpressure = true;
                return default;
            }

            removed = entry.Pending.Remove(messageIds, out removedBytes);
        }

        Interlocked.Add(ref _pendingMessages, -removed);
        Interlocked.Add(ref _pendingBytes, -removedBytes);
        return AckStatus.Acked;
    }
}
