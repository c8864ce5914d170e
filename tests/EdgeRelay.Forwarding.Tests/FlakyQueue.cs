using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>An outbound queue whose next settles fail with an <see cref="IOException"/>, as a failed commit would make them.</summary>
internal sealed class FlakyQueue(IOutboundQueue inner) : IOutboundQueue
{
    private int _failures;

    public void FailNextSettles(int count) => Volatile.Write(ref _failures, count);

    public ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default) =>
        Interlocked.Decrement(ref _failures) >= 0
            ? ValueTask.FromException<WriteResult<SettleStatus>>(new IOException("the outbound log failed"))
            : inner.SettleAsync(sendId, state, code, ct);

    public ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default) =>
        Interlocked.Decrement(ref _failures) >= 0
            ? ValueTask.FromException<DurabilityTicket>(new IOException("the outbound log failed"))
            : inner.SettleManyAsync(settles, results, ct);

    public ValueTask<OutboundEnqueueResult> EnqueueAsync(OutboundRequest request, CancellationToken ct = default) => inner.EnqueueAsync(request, ct);

    public IReadOnlyList<OutboundMessage> GetQueued() => inner.GetQueued();

    public bool TryGetStatus(long sendId, out OutboundStatus status) => inner.TryGetStatus(sendId, out status);

    public Task RunMaintenanceAsync() => inner.RunMaintenanceAsync();

    public OutboundStatistics GetStatistics() => inner.GetStatistics();

    public bool IsDurable(DurabilityTicket ticket) => inner.IsDurable(ticket);

    public ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default) => inner.WaitDurableAsync(ticket, ct);

    public void RequestFlush() => inner.RequestFlush();

    public Task FlushAsync() => inner.FlushAsync();

    public Exception? Failure => inner.Failure;

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
