namespace EdgeRelay.Storage;

/// <summary>
/// The durable queue of messages a relay forwards to other relays (SEND_VIA), and the states of those
/// already settled. Everything above storage sees only this; the FASTER backend keeps it in a log of its own.
/// </summary>
/// <remarks>
/// <para>What a backend must guarantee:</para>
/// <list type="bullet">
/// <item>A send id is positive, unique within the queue, increasing in enqueue order, and never handed out
/// again, not even after its status was forgotten or the queue was reopened.</item>
/// <item><see cref="EnqueueAsync"/> returns a ticket; once it is durable the message survives a crash, queued,
/// until it is settled. Nothing is promised to the sender before that.</item>
/// <item><see cref="SettleAsync"/> moves a queued message to <see cref="OutboundState.Delivered"/> or
/// <see cref="OutboundState.Failed"/> exactly once; its ticket, once durable, means the message will not be
/// listed as queued again after a crash. A crash before that leaves it queued (it is forwarded again: at
/// least once).</item>
/// <item>A message's release time (<see cref="OutboundMessage.ReleaseAtUnixMs"/>) is computed once, with
/// <see cref="OutboundRequest.ReleaseAt"/> from the queue time, and listed unchanged after a restart or a crash.</item>
/// <item>A settled status stays readable for at least <see cref="OutboundLimits.SettledRetention"/> after it
/// settled and is dropped by the first maintenance pass after that.</item>
/// <item>Tickets of one queue become durable in the order they were handed out (as for <see cref="IDurability"/>);
/// they mean nothing to another store.</item>
/// </list>
/// Thread-safe.
/// </remarks>
public interface IOutboundQueue : IDurability, IAsyncDisposable
{
    /// <summary>
    /// Queues a message for forwarding, or refuses it when a limit of <see cref="OutboundLimits"/> would be
    /// passed (nothing is written then).
    /// </summary>
    ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default);

    /// <summary>
    /// Settles a queued message: <paramref name="state"/> is <see cref="OutboundState.Delivered"/> (with code 0)
    /// or <see cref="OutboundState.Failed"/> (with the failure's error code). <see cref="SettleStatus.NotQueued"/>,
    /// writing nothing, when the id names no queued message (unknown, or settled already).
    /// </summary>
    ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default);

    /// <summary>
    /// Settles several queued messages, each as <see cref="SettleAsync"/> would, in list order:
    /// <paramref name="results"/>[i] receives what became of <paramref name="settles"/>[i], and the returned
    /// ticket covers every one that settled (<see cref="DurabilityTicket.None"/> when none did). What a
    /// forwarding round decides is written in one call, so a backend takes its lock once per round, not once
    /// per message.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="results"/> is shorter than <paramref name="settles"/>.</exception>
    ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default);

    /// <summary>The queued (unsettled) messages, in send-id order: what a forwarding engine starts from after a restart.</summary>
    IReadOnlyList<OutboundMessage> GetQueued();

    /// <summary>The state of a send: queued, or settled and still retained. False when the id is unknown or its status was forgotten.</summary>
    bool TryGetStatus(long sendId, out OutboundStatus status);

    /// <summary>Drops settled statuses past their retention and frees what the backend no longer needs. Backends also run it on their own schedule.</summary>
    Task RunMaintenanceAsync();

    /// <summary>A point-in-time reading for metrics. Throws <see cref="ObjectDisposedException"/> once closed.</summary>
    OutboundStatistics GetStatistics();
}
