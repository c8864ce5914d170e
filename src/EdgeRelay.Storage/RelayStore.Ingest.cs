using FASTER.core;

namespace EdgeRelay.Storage;

public sealed partial class RelayStore
{
    /// <summary>
    /// Appends a message for <paramref name="aid"/> without waiting and without allocating.
    /// On <see cref="AppendStatus.Appended"/>, <paramref name="messageId"/> is its id (and log address):
    /// await <see cref="WaitForCommitAsync"/> on it before acknowledging the sender. On
    /// <see cref="AppendStatus.Backpressure"/> call <see cref="AppendMessageAsync"/>; never retry this
    /// method in a loop (spinning writers starve the committer). <paramref name="messageId"/> is 0
    /// unless appended.
    /// </summary>
    public AppendStatus TryAppendMessage(AddressId aid, ReadOnlySpan<byte> ciphertext, out long messageId)
    {
        EnterOperation();
        try
        {
            return TryAppendCore(aid, ciphertext, out messageId);
        }
        finally
        {
            ExitOperation();
        }
    }

    /// <summary>
    /// Appends a message, waiting for a commit to free log memory when the buffer is full (never
    /// <see cref="AppendStatus.Backpressure"/>). Completes synchronously, allocation-free, when there
    /// is room. The result is not yet durable: await <see cref="WaitForCommitAsync"/> on the id.
    /// </summary>
    public ValueTask<(AppendStatus Status, long MessageId)> AppendMessageAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default)
    {
        EnterOperation();
        var handedOver = false;
        try
        {
            var status = TryAppendCore(aid, ciphertext.Span, out var messageId);
            if (status != AppendStatus.Backpressure)
            {
                return new ValueTask<(AppendStatus, long)>((status, messageId));
            }

            handedOver = true; // the slow path owns the operation from here
            return AppendWhenLogHasSpaceAsync(aid, ciphertext, ct);
        }
        finally
        {
            if (!handedOver)
            {
                ExitOperation();
            }
        }
    }

    private async ValueTask<(AppendStatus Status, long MessageId)> AppendWhenLogHasSpaceAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                await WaitForLogSpaceAsync(attempt, ct);
                if (IsClosing)
                {
                    ThrowHelper.ThrowDisposed();
                }

                var status = TryAppendCore(aid, ciphertext.Span, out var messageId);
                if (status != AppendStatus.Backpressure)
                {
                    return (status, messageId);
                }
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    private AppendStatus TryAppendCore(AddressId aid, ReadOnlySpan<byte> ciphertext, out long messageId)
    {
        messageId = 0;
        if (ciphertext.Length > _maxPayloadBytes)
        {
            return AppendStatus.PayloadTooLarge;
        }

        if (!_registry.TryGetValue(aid, out var entry))
        {
            return AppendStatus.UnknownAddress;
        }

        var now = _time.GetUtcNow();
        var receivedAt = now.ToUnixTimeMilliseconds();

        // Hashed outside the gate: a read from the memory mirror is checked against it.
        var check = _recent is null ? 0 : RecentRecords.Check(ciphertext);

        // Enqueue and index under the address' gate: ids of one address enter its index in increasing
        // order, so a reader that has seen id N never later finds a smaller id appear before it.
        lock (entry.Gate)
        {
            var info = entry.Info;
            if (info.IsRevoked)
            {
                return AppendStatus.Revoked;
            }

            if (info.ExpiresAt <= now.ToUnixTimeSeconds())
            {
                return AppendStatus.Expired;
            }

            var pending = entry.Pending;
            if (pending.Count >= _maxPendingMessagesPerAddress || pending.Bytes + ciphertext.Length > _maxPendingBytesPerAddress)
            {
                return AppendStatus.QuotaAddress;
            }

            // The disk budget counts the log's whole span: consumed records wait for truncation, and
            // refusing early is what leaves room for the acks and copies that let truncation happen.
            if (_maxLogBytes != 0 && _log.TailAddress - _log.BeginAddress + ciphertext.Length > _maxLogBytes)
            {
                return AppendStatus.QuotaServer;
            }

            bool enqueued;
            try
            {
                enqueued = LogRecordEntries.TryEnqueueMessage(_log, _recent, aid, receivedAt, ciphertext, out messageId);
            }
            catch (FasterException ex)
            {
                ThrowHelper.ThrowStorageFailed(ex);
                throw; // unreachable
            }

            if (!enqueued)
            {
                messageId = 0;
                return AppendStatus.Backpressure;
            }

            entry.Pending.Append(new PendingMessage(messageId, ciphertext.Length, receivedAt) { MirrorCheck = check });
        }

        Interlocked.Increment(ref _pendingMessages);
        Interlocked.Add(ref _pendingBytes, ciphertext.Length);
        return AppendStatus.Appended;
    }
}
