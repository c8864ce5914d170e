namespace EdgeRelay.Storage;

/// <summary>How the relay delivers an address' messages to its owner. Values are stored in the log and on the wire: never renumber.</summary>
public enum DeliveryPolicyKind : byte
{
    /// <summary>Push each message to a live subscriber as soon as it is durable.</summary>
    Immediate = 0,

    /// <summary>Coalesce: push at most once per window, never sooner than a window after the first undelivered message arrived.</summary>
    Batched = 1,

    /// <summary>Never push and never wake: the owner polls with PULL.</summary>
    PullOnly = 2,
}

/// <summary>An address' delivery policy: the owner's lever between latency and wake-ups (and timing signal).</summary>
/// <param name="Kind">Immediate, batched or pull-only.</param>
/// <param name="WindowMilliseconds">The batching window; 0 for the other kinds.</param>
public readonly record struct DeliveryPolicy(DeliveryPolicyKind Kind, uint WindowMilliseconds)
{
    public static DeliveryPolicy Immediate => default;

    public bool IsValid => Kind switch
    {
        DeliveryPolicyKind.Immediate or DeliveryPolicyKind.PullOnly => WindowMilliseconds == 0,
        DeliveryPolicyKind.Batched => WindowMilliseconds > 0,
        _ => false,
    };

    public override string ToString() => Kind == DeliveryPolicyKind.Batched ? $"batched({WindowMilliseconds} ms)" : Kind == DeliveryPolicyKind.PullOnly ? "pull-only" : "immediate";
}
