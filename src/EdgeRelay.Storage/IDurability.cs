namespace EdgeRelay.Storage;

/// <summary>
/// When writes become durable. Every write of a store returns a <see cref="DurabilityTicket"/>; nothing may
/// be promised to a peer ("stored", "created", "acknowledged") until its ticket is durable.
/// </summary>
/// <remarks>
/// Writes are made durable in groups (one commit, one fsync or one round of publish acknowledgements
/// covers many): callers ask with <see cref="RequestFlush"/> or <see cref="FlushAsync"/> and the store
/// decides when. A flush that fails faults every waiter it would have served with an
/// <see cref="IOException"/>; a closed store faults them with an <see cref="ObjectDisposedException"/>.
/// Either way nothing that was waiting was promised.
/// </remarks>
public interface IDurability
{
    /// <summary>True once the write behind <paramref name="ticket"/> (and every earlier write of this store) survives a crash. Wait-free.</summary>
    bool IsDurable(DurabilityTicket ticket);

    /// <summary>
    /// Completes when <paramref name="ticket"/> is durable, asking for a flush if one is needed. Completes
    /// synchronously when it already is. Allocation-free when <paramref name="ct"/> cannot be cancelled.
    /// </summary>
    ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default);

    /// <summary>Asks for everything written so far to be made durable soon. Returns at once; many requests before the store acts cost one flush.</summary>
    void RequestFlush();

    /// <summary>
    /// The flush failure this store cannot recover from while it runs (a full disk, a device error), or null.
    /// Once set it stays set, and every later flush fails too; what was durable before it still is, and opening
    /// the store again (a restart) recovers it. A host stops the store's users and restarts on seeing it.
    /// </summary>
    Exception? Failure { get; }

    /// <summary>
    /// Requests a flush and returns the round that makes everything written before this call durable. The
    /// task is shared by every caller of the same round (no allocation per caller).
    /// </summary>
    Task FlushAsync();
}
