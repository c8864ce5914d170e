using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>An outbound queue whose settles are written at once but become durable only when the test says so, as a slow commit would.</summary>
internal sealed class HeldSettleQueue(IOutboundQueue inner) : DelegatingOutboundQueue(inner)
{
    private readonly TaskCompletionSource _commit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sync = new();
    private readonly HashSet<long> _settleTickets = [];
    private readonly List<int> _batches = [];

    /// <summary>How many settles each <see cref="SettleManyAsync"/> call carried, in call order.</summary>
    public int[] Batches
    {
        get
        {
            lock (_sync)
            {
                return [.. _batches];
            }
        }
    }

    /// <summary>Every settle written so far, and any written later, becomes durable.</summary>
    public void Commit() => _commit.TrySetResult();

    public override async ValueTask<DurabilityTicket> SettleManyAsync(IReadOnlyList<OutboundSettle> settles, SettleStatus[] results, CancellationToken ct = default)
    {
        var ticket = await Inner.SettleManyAsync(settles, results, ct);
        lock (_sync)
        {
            _batches.Add(settles.Count);
            _settleTickets.Add(ticket.Position);
        }

        return ticket;
    }

    public override async ValueTask WaitDurableAsync(DurabilityTicket ticket, CancellationToken ct = default)
    {
        bool held;
        lock (_sync)
        {
            held = _settleTickets.Contains(ticket.Position);
        }

        if (held)
        {
            await _commit.Task.WaitAsync(ct);
        }

        await Inner.WaitDurableAsync(ticket, ct);
    }

    public override bool IsDurable(DurabilityTicket ticket)
    {
        lock (_sync)
        {
            return (!_settleTickets.Contains(ticket.Position) || _commit.Task.IsCompleted) && Inner.IsDurable(ticket);
        }
    }

    public override ValueTask<WriteResult<SettleStatus>> SettleAsync(long sendId, OutboundState state, ushort code, CancellationToken ct = default) =>
        throw new NotSupportedException("The engine settles a round in one call.");
}
