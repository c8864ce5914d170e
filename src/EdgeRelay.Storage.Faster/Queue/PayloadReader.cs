namespace EdgeRelay.Storage.Faster;

/// <summary>
/// The read side of the queue: listing an address' durable pending messages, and reading a ciphertext from
/// the memory mirror of recent records (a copy) or from the device (one read of the record's size).
/// </summary>
internal sealed class PayloadReader
{
    private readonly AddressTable _registry;
    private readonly LogWriter _log;
    private readonly StoreCounters _counters;

    public PayloadReader(AddressTable registry, LogWriter log, StoreCounters counters)
    {
        _registry = registry;
        _log = log;
        _counters = counters;
    }

    /// <summary>See <see cref="IMessageQueue.GetPending"/>: committed entries only, converted to the contract's view.</summary>
    public int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination)
    {
        if (!_registry.TryGetEntry(aid, out var entry))
        {
            return 0;
        }

        var committed = _log.CommittedUntil;
        lock (entry.Gate)
        {
            return entry.Pending.CopyCommitted(after.Value, committed, destination);
        }
    }

    /// <summary>
    /// Reads a listed message; if compaction moved it since it was listed, reads it at its new location.
    /// -1 only when the message is no longer pending (acked, or expired) and no longer in the log.
    /// </summary>
    public async ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct)
    {
        var listed = PendingEntry.From(message);
        var read = await ReadEntryAsync(listed, destination, ct);
        if (read >= 0 || !_registry.TryGetEntry(aid, out var entry))
        {
            return read;
        }

        PendingEntry current;
        lock (entry.Gate)
        {
            if (!entry.Pending.TryGet(listed.Id, out current))
            {
                return -1;
            }
        }

        if (current.Location == listed.Location)
        {
            // Still pending where it was listed, yet the log gave nothing back: the device failed the read (FASTER
            // reports a failed read as no record). Skipping it would show the reader a gap it cannot see; fail the
            // read instead, and the message stays pending for the next one.
            throw new IOException($"The device could not read pending message {listed.Id} at log address {listed.Location}; it stays pending.");
        }

        return await ReadEntryAsync(current, destination, ct);
    }

    /// <summary>
    /// Reads <paramref name="message"/>'s ciphertext at its location into <paramref name="destination"/> and
    /// returns its length, or -1 if the log no longer holds it. A copy from memory for a recent record (see
    /// <see cref="RecentRecords"/>), else one device read of exactly the record's size, whose per-entry
    /// checksum FASTER verifies.
    /// </summary>
    public async ValueTask<int> ReadEntryAsync(PendingEntry message, Memory<byte> destination, CancellationToken ct)
    {
        if (destination.Length < message.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the message has {message.Length}.", nameof(destination));
        }

        // The same visibility as FASTER's read below: committed and not yet truncated.
        var location = message.Location;
        var mirror = _log.Mirror;
        if (mirror is not null && location < _log.CommittedUntil && location >= _log.Begin
            && mirror.TryCopyCiphertext(location, message.Length, message.MirrorCheck, destination.Span))
        {
            return message.Length;
        }

        _counters.DeviceRead();
        var (owner, length) = await _log.ReadAsync(location, LogRecords.MovedHeaderSize + message.Length, ct);
        if (owner is null)
        {
            return -1;
        }

        using (owner)
        {
            var ciphertext = Ciphertext(owner.Memory.Span[..length], location);
            if (ciphertext.Length != message.Length)
            {
                throw new InvalidDataException($"The message at log address {message.Id} has {ciphertext.Length} bytes in the log, not the {message.Length} the index holds.");
            }

            ciphertext.CopyTo(destination.Span);
            return ciphertext.Length;
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
}
