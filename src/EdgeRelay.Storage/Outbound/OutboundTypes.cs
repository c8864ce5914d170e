namespace EdgeRelay.Storage;

/// <summary>Where a forwarded message stands. The values are those of the protocol's send states (PROTOCOL.md 4.14).</summary>
public enum OutboundState : byte
{
    /// <summary>No such send, or its status is no longer retained.</summary>
    Unknown = 0,

    /// <summary>Durably queued here, not yet taken by the receiving relay.</summary>
    Queued = 1,

    /// <summary>The receiving relay acknowledged it as stored.</summary>
    Delivered = 2,

    /// <summary>Given up: refused for good by the receiving relay, or past its maximum age. The status carries the code.</summary>
    Failed = 3,
}

/// <summary>The outcome of <see cref="IOutboundQueue.EnqueueAsync"/>.</summary>
public enum OutboundEnqueueStatus
{
    Queued,

    /// <summary>The queue holds its maximum of messages or bytes (<see cref="OutboundLimits.MaxQueuedMessages"/>, <see cref="OutboundLimits.MaxQueuedBytes"/>).</summary>
    QueueFull,

    /// <summary>The sender holds its maximum of queued messages (<see cref="OutboundLimits.MaxQueuedPerOwner"/>).</summary>
    OwnerQuota,
}

/// <summary>The outcome of <see cref="IOutboundQueue.SettleAsync"/>.</summary>
public enum SettleStatus
{
    Settled,

    /// <summary>The id names no queued message: unknown, or settled already. Nothing was written.</summary>
    NotQueued,
}

/// <summary>One message to settle (see <see cref="IOutboundQueue.SettleManyAsync"/>): <paramref name="Code"/> is the failure's error code, 0 when delivered.</summary>
public readonly record struct OutboundSettle(long SendId, OutboundState State, ushort Code)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless every state is delivered or failed, and <see cref="ArgumentException"/> when <paramref name="results"/> cannot hold an outcome for each.</summary>
    public static void Validate(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results)
    {
        ArgumentNullException.ThrowIfNull(settles);
        ArgumentNullException.ThrowIfNull(results);
        if (results.Length < settles.Count)
        {
            throw new ArgumentException("There must be a result slot for every settle.", nameof(results));
        }

        foreach (var settle in settles)
        {
            if (settle.State is not (OutboundState.Delivered or OutboundState.Failed))
            {
                throw new ArgumentOutOfRangeException(nameof(settles), settle.State, "A message settles as delivered or failed.");
            }
        }
    }
}

/// <summary>A message to queue for forwarding.</summary>
/// <param name="Owner">Who sent it (the access token's id): only they may read its state. 1 to 255 UTF-8 bytes.</param>
/// <param name="Endpoint">The receiving relay, "host:port" as address cards carry it. 1 to 255 UTF-8 bytes.</param>
/// <param name="Pin">The receiving relay's TLS pin (32 bytes), or empty for plain TCP.</param>
/// <param name="EphemeralAddress">The ephemeral address sealed to the receiving relay (73 bytes).</param>
/// <param name="Ciphertext">What to deliver (at least one byte).</param>
/// <param name="BatchIntervalMs">
/// 0: forwarded as soon as it is queued. Otherwise it is held until <see cref="ReleaseAt"/>, the first multiple of
/// this many milliseconds since the Unix epoch after its queue time: every message of one interval leaves at the
/// same instant (the batched sending mode, PROTOCOL.md 4.17). The queue fixes the release time when it queues the
/// message and keeps it across restarts.
/// </param>
public sealed record OutboundRequest(string Owner, string Endpoint, ReadOnlyMemory<byte> Pin, ReadOnlyMemory<byte> EphemeralAddress, ReadOnlyMemory<byte> Ciphertext, long BatchIntervalMs = 0)
{
    public const int MaxTextBytes = 255;

    public const int PinLength = 32;

    public const int EphemeralAddressLength = 73;

    /// <summary>Throws <see cref="ArgumentException"/> for a field out of its range (callers check them first; a backend must not store garbage).</summary>
    public void Validate()
    {
        CheckText(Owner, nameof(Owner));
        CheckText(Endpoint, nameof(Endpoint));
        if (Pin.Length is not (0 or PinLength))
        {
            throw new ArgumentException($"A pin is empty or {PinLength} bytes.", nameof(Pin));
        }

        if (EphemeralAddress.Length != EphemeralAddressLength)
        {
            throw new ArgumentException($"An ephemeral address is {EphemeralAddressLength} bytes.", nameof(EphemeralAddress));
        }

        if (Ciphertext.IsEmpty)
        {
            throw new ArgumentException("The ciphertext is empty.", nameof(Ciphertext));
        }

        if (BatchIntervalMs < 0)
        {
            throw new ArgumentException("A batch interval is 0 (none) or positive.", nameof(BatchIntervalMs));
        }
    }

    /// <summary>
    /// When a message queued at <paramref name="queuedAtUnixMs"/> may be forwarded: then, without a batch
    /// interval; otherwise the first multiple of <see cref="BatchIntervalMs"/> strictly after it, so it waits less
    /// than one interval. Every backend computes it here, from its own queue time.
    /// </summary>
    public long ReleaseAt(long queuedAtUnixMs)
    {
        if (BatchIntervalMs == 0)
        {
            return queuedAtUnixMs;
        }

        var intoInterval = ((queuedAtUnixMs % BatchIntervalMs) + BatchIntervalMs) % BatchIntervalMs;
        return queuedAtUnixMs - intoInterval + BatchIntervalMs;
    }

    private static void CheckText(string value, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        var bytes = System.Text.Encoding.UTF8.GetByteCount(value);
        if (bytes is 0 or > MaxTextBytes)
        {
            throw new ArgumentException($"{name} must be 1 to {MaxTextBytes} UTF-8 bytes.", name);
        }
    }
}

/// <summary>A queued message, as the queue lists it for forwarding.</summary>
/// <param name="SendId">Its id (see <see cref="IOutboundQueue"/> for what ids guarantee).</param>
/// <param name="QueuedAtUnixMs">When it was queued, on the queue's clock: the maximum age counts from here.</param>
/// <param name="ReleaseAtUnixMs">
/// Not forwarded before this (<see cref="OutboundRequest.ReleaseAt"/>, fixed when it was queued): equal to
/// <see cref="QueuedAtUnixMs"/> for a message forwarded at once, later for a batched one (<see cref="IsHeld"/>).
/// </param>
public sealed record OutboundMessage(long SendId, string Owner, string Endpoint, ReadOnlyMemory<byte> Pin, ReadOnlyMemory<byte> EphemeralAddress, ReadOnlyMemory<byte> Ciphertext, long QueuedAtUnixMs, long ReleaseAtUnixMs)
{
    /// <summary>Whether it was queued to wait for a release time (batched) rather than to go at once.</summary>
    public bool IsHeld => ReleaseAtUnixMs > QueuedAtUnixMs;
}

/// <summary>The state of one send.</summary>
/// <param name="Code">For <see cref="OutboundState.Failed"/>: the error code of the failure; otherwise 0.</param>
/// <param name="SettledAtUnixMs">When it settled; 0 while queued.</param>
public readonly record struct OutboundStatus(long SendId, string Owner, OutboundState State, ushort Code, long QueuedAtUnixMs, long SettledAtUnixMs);

/// <summary>The result of an enqueue: the send id and the ticket to wait for before acknowledging it (both default when refused).</summary>
/// <param name="Message">The message as queued (its queue and release times are the queue's), what <see cref="IOutboundQueue.GetQueued"/> lists after a restart; null when refused.</param>
public readonly record struct OutboundEnqueueResult(OutboundEnqueueStatus Status, long SendId, DurabilityTicket Ticket, OutboundMessage? Message = null);

/// <summary>A point-in-time reading of an outbound queue.</summary>
/// <param name="QueuedMessages">Messages queued and not settled (the queue depth).</param>
/// <param name="QueuedBytes">Their ciphertext bytes.</param>
/// <param name="SettledRetained">Settled statuses still kept for SEND_STATUS.</param>
/// <param name="StoredBytes">What the backend holds on disk for all of it (its log's span), 0 for a backend without one.</param>
public readonly record struct OutboundStatistics(long QueuedMessages, long QueuedBytes, long SettledRetained, long StoredBytes);

/// <summary>The limits every outbound queue enforces the same way.</summary>
public class OutboundLimits
{
    /// <summary>Most messages queued at once; beyond, enqueue is refused (QUEUE_FULL). Default 100,000.</summary>
    public int MaxQueuedMessages { get; set; } = 100_000;

    /// <summary>
    /// Most ciphertext bytes queued at once (QUEUE_FULL beyond). Default 256 MiB: the queue keeps queued
    /// ciphertexts in memory for forwarding, so this is also what it costs in memory at most.
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 256L << 20;

    /// <summary>Most messages one owner (token) may have queued at once (QUOTA_TOKEN beyond). Default 10,000.</summary>
    public int MaxQueuedPerOwner { get; set; } = 10_000;

    /// <summary>How long a settled status stays readable. Default 7 days: an RM offline for a week still learns what became of its sends.</summary>
    public TimeSpan SettledRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first limit out of range.</summary>
    public void ValidateLimits()
    {
        var owner = GetType().Name;
        if (MaxQueuedMessages < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedMessages), MaxQueuedMessages, $"{owner}.MaxQueuedMessages must be at least 1.");
        }

        if (MaxQueuedBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedBytes), MaxQueuedBytes, $"{owner}.MaxQueuedBytes must be at least 1.");
        }

        if (MaxQueuedPerOwner < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedPerOwner), MaxQueuedPerOwner, $"{owner}.MaxQueuedPerOwner must be at least 1.");
        }

        if (SettledRetention < TimeSpan.FromSeconds(1) || SettledRetention > TimeSpan.FromDays(365))
        {
            throw new ArgumentOutOfRangeException(nameof(SettledRetention), SettledRetention, $"{owner}.SettledRetention must be between 1 s and 365 days.");
        }
    }

    /// <summary>Copies these limits onto <paramref name="target"/>.</summary>
    public void CopyLimitsTo(OutboundLimits target)
    {
        ArgumentNullException.ThrowIfNull(target);
        target.MaxQueuedMessages = MaxQueuedMessages;
        target.MaxQueuedBytes = MaxQueuedBytes;
        target.MaxQueuedPerOwner = MaxQueuedPerOwner;
        target.SettledRetention = SettledRetention;
    }
}
