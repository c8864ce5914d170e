namespace EdgeRelay.Storage;

/// <summary>
/// The limits every backend enforces the same way: what a sender may store and for how long. A backend's
/// options class derives from this and adds its engine's own settings.
/// </summary>
/// <remarks>Plain settable properties so that the host can bind them from configuration; backends validate them at open.</remarks>
public class StorageLimits
{
    /// <summary>
    /// Largest accepted ciphertext in bytes. Default 16384 (16 KiB): the maximum the relay advertises to
    /// senders by default. Allowed: 1 .. what the backend can hold in one record.
    /// </summary>
    public int MaxPayloadBytes { get; set; } = 16384;

    /// <summary>
    /// How long an unacknowledged message is kept. Default 21 days: long enough for a phone switched off over
    /// a holiday, short enough that a forgotten address does not keep data for ever. Allowed: 1 s .. 3650 days.
    /// </summary>
    public TimeSpan MessageTtl { get; set; } = TimeSpan.FromDays(21);

    /// <summary>
    /// Most unacknowledged messages one address may hold; a SEND beyond it is refused (QUOTA_ADDRESS).
    /// Default 100,000: three weeks of a busy group chat, 3.2 MB of index. Allowed: 1 .. 100,000,000.
    /// </summary>
    public int MaxPendingMessagesPerAddress { get; set; } = 100_000;

    /// <summary>
    /// Most unacknowledged ciphertext bytes one address may hold (QUOTA_ADDRESS beyond). Default 256 MiB:
    /// one address cannot take more than a small part of a disk budget. Allowed: 1 .. 2^50.
    /// </summary>
    public long MaxPendingBytesPerAddress { get; set; } = 256L << 20;

    /// <summary>Copies these limits onto <paramref name="target"/> (e.g. from the relay's options into a backend's).</summary>
    public void CopyLimitsTo(StorageLimits target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.MaxPayloadBytes = MaxPayloadBytes;
        target.MessageTtl = MessageTtl;
        target.MaxPendingMessagesPerAddress = MaxPendingMessagesPerAddress;
        target.MaxPendingBytesPerAddress = MaxPendingBytesPerAddress;
    }

    /// <summary>The largest ciphertext the backend can hold in one record; <see cref="MaxPayloadBytes"/> may not exceed it.</summary>
    protected virtual int LargestPayloadBytes => int.MaxValue;

    /// <summary>Why <see cref="LargestPayloadBytes"/> is the limit, for the error message.</summary>
    protected virtual string LargestPayloadReason => "the largest payload a record can hold";

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the first limit out of range, prefixed with the
    /// options class' name (so the message says where to fix it).
    /// </summary>
    protected void ValidateLimits()
    {
        var owner = GetType().Name;
        var largest = LargestPayloadBytes;
        if (MaxPayloadBytes < 1 || MaxPayloadBytes > largest)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPayloadBytes), MaxPayloadBytes, $"{owner}.MaxPayloadBytes must be between 1 and {largest}: {LargestPayloadReason}");
        }

        if (MessageTtl < TimeSpan.FromSeconds(1) || MessageTtl > TimeSpan.FromDays(3650))
        {
            throw new ArgumentOutOfRangeException(nameof(MessageTtl), MessageTtl, $"{owner}.MessageTtl must be between 1 s and 3650 days.");
        }

        if (MaxPendingMessagesPerAddress < 1 || MaxPendingMessagesPerAddress > 100_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingMessagesPerAddress), MaxPendingMessagesPerAddress, $"{owner}.MaxPendingMessagesPerAddress must be between 1 and 100000000 (inclusive).");
        }

        if (MaxPendingBytesPerAddress < 1 || MaxPendingBytesPerAddress > 1L << 50)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingBytesPerAddress), MaxPendingBytesPerAddress, $"{owner}.MaxPendingBytesPerAddress must be between 1 and 2^50.");
        }
    }
}
