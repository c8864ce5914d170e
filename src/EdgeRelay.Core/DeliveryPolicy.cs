namespace EdgeRelay;

/// <summary>How a relay delivers an address' messages to its owner. Values travel on the wire (SET_POLICY) and are stored in the log: never renumber.</summary>
public enum DeliveryPolicyKind : byte
{
    /// <summary>Push each message to a live subscriber as soon as it is durable.</summary>
    Immediate = 0,

    /// <summary>Coalesce: push at most once per window, never sooner than a window after the first undelivered message arrived.</summary>
    Batched = 1,

    /// <summary>Never push and never wake: the owner polls with PULL.</summary>
    PullOnly = 2,
}

/// <summary>
/// An address' delivery policy: the owner's lever between latency and wake-ups (and timing signal).
/// </summary>
/// <remarks>
/// One type for the wire, the store and the client: the protocol decodes SET_POLICY into it, the store
/// persists it, and an app builds it with <see cref="Immediate"/>, <see cref="PullOnly"/> or
/// <see cref="Batched"/>. A value decoded from the wire may be invalid (<see cref="IsValid"/>); the relay
/// refuses it rather than storing it.
/// </remarks>
/// <param name="Kind">Immediate, batched or pull-only.</param>
/// <param name="WindowMilliseconds">The batching window; 0 for the other kinds.</param>
public readonly record struct DeliveryPolicy(DeliveryPolicyKind Kind, uint WindowMilliseconds)
{
    /// <summary>Push each message as soon as it is durable: lowest latency, one wake-up per message. The default of every address.</summary>
    public static DeliveryPolicy Immediate => default;

    /// <summary>Never push; the app polls with PULL. No wake-ups at all.</summary>
    public static DeliveryPolicy PullOnly => new(DeliveryPolicyKind.PullOnly, 0);

    /// <summary>The batching window as a time span (zero unless batched).</summary>
    public TimeSpan Window => TimeSpan.FromMilliseconds(WindowMilliseconds);

    public bool IsValid => Kind switch
    {
        DeliveryPolicyKind.Immediate or DeliveryPolicyKind.PullOnly => WindowMilliseconds == 0,
        DeliveryPolicyKind.Batched => WindowMilliseconds > 0,
        _ => false,
    };

    /// <summary>
    /// Push at most once per <paramref name="window"/>, never sooner than a window after the first
    /// message waiting arrived: fewer wake-ups, and arrival times blurred to the window.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is under 1 ms or over 2^32 − 1 ms.</exception>
    public static DeliveryPolicy Batched(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, TimeSpan.FromMilliseconds(uint.MaxValue));
        return new(DeliveryPolicyKind.Batched, (uint)window.TotalMilliseconds);
    }

    public override string ToString() => Kind switch
    {
        DeliveryPolicyKind.Batched => $"batched({WindowMilliseconds} ms)",
        DeliveryPolicyKind.PullOnly => "pull-only",
        DeliveryPolicyKind.Immediate => "immediate",
        _ => $"invalid({(byte)Kind}, {WindowMilliseconds} ms)",
    };
}
