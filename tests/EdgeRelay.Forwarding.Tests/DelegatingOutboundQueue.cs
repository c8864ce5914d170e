using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>An outbound queue that passes every call to <paramref name="inner"/>: the test doubles override the calls they change.</summary>
internal abstract class DelegatingOutboundQueue(IOutboundQueue inner) : IOutboundQueue
{
    protected IOutboundQueue Inner { get; } = inner;

    public virtual Exception? Failure => Inner.Failure;

    public virtual ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default) => Inner.EnqueueAsync(request, ct);

    public virtual ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default) => Inner.SettleAsync(sendId, state, code, ct);

    public virtual ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default) => Inner.SettleManyAsync(settles, results, ct);

    public IReadOnlyList<OutboundMessage> GetQueued() => Inner.GetQueued();

    public bool TryGetStatus(long sendId, out OutboundStatus status) => Inner.TryGetStatus(sendId, out status);

    public Task RunMaintenanceAsync() => Inner.RunMaintenanceAsync();

    public OutboundStatistics GetStatistics() => Inner.GetStatistics();

    public virtual bool IsDurable(DurabilityTicket ticket) => Inner.IsDurable(ticket);

    public virtual ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => Inner.WaitDurableAsync(ticket, ct);

    public void RequestFlush() => Inner.RequestFlush();

    public Task FlushAsync() => Inner.FlushAsync();

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
