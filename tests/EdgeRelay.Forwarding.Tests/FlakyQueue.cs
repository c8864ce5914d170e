using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>An outbound queue whose next settles fail with an <see cref="IOException"/>, as a failed commit would make them.</summary>
internal sealed class FlakyQueue(IOutboundQueue inner) : DelegatingOutboundQueue(inner)
{
    private int _failures;

    public void FailNextSettles(int count) => Volatile.Write(ref _failures, count);

    public override ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default) =>
        Interlocked.Decrement(ref _failures) >= 0
            ? ValueTask.FromException<WriteResult<SettleStatus>>(new IOException("the outbound log failed"))
            : Inner.SettleAsync(sendId, state, code, ct);

    public override ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default) =>
        Interlocked.Decrement(ref _failures) >= 0
            ? ValueTask.FromException<DurabilityTicket>(new IOException("the outbound log failed"))
            : Inner.SettleManyAsync(settles, results, ct);
}
