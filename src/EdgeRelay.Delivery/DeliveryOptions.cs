namespace EdgeRelay.Delivery;

/// <summary>How the push hub sizes deliveries and paces wake-ups. The server fills it from its own options and wire limits.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Most bytes one delivery may carry (ciphertexts plus <see cref="PerMessageOverhead"/> each); a single larger message still goes alone.</summary>
    public long MaxBatchBytes { get; init; } = 1024 * 1024;

    /// <summary>Bytes a delivery adds per message besides its ciphertext (a wire header).</summary>
    public int PerMessageOverhead { get; init; }

    /// <summary>Most credit one subscription may hold; larger grants are capped to it.</summary>
    public uint MaxCredit { get; init; } = 4096;

    /// <summary>After a wake-up for an address, further ones wait until its owner comes back (PULL or SUBSCRIBE) or this long has passed.</summary>
    public TimeSpan WakeQuietPeriod { get; init; } = TimeSpan.FromSeconds(60);
}
