using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding.Tests;

/// <summary>
/// An outbound queue shared with other nodes, as the engine sees it through <see cref="IOutboundDispatch"/>: the test
/// says which messages this node forwards, adopts a dead node's messages, and settles messages as another node would.
/// </summary>
internal sealed class SharedQueue(IOutboundQueue inner) : DelegatingOutboundQueue(inner), IOutboundDispatch
{
    private readonly HashSet<long> _others = [];
    private readonly Lock _sync = new();

    public Action<IReadOnlyList<OutboundMessage>>? Adopted { get; set; }

    public Action<OutboundStatus, int>? SettledElsewhere { get; set; }

    /// <summary>Queues a message as another node (its dispatcher) would: this node lists it, and does not forward it.</summary>
    public async Task<OutboundMessage> EnqueueElsewhereAsync(OutboundRequest request)
    {
        var result = await Inner.EnqueueAsync(request);
        await Inner.WaitDurableAsync(result.Ticket);
        lock (_sync)
        {
            _others.Add(result.SendId);
        }

        return result.Message!;
    }

    /// <summary>This node adopted the messages other nodes queued: they are its own from now on, and the engine is told.</summary>
    public void AdoptAll()
    {
        List<OutboundMessage> adopted;
        lock (_sync)
        {
            adopted = Inner.GetQueued().Where(m => _others.Contains(m.SendId)).ToList();
            _others.Clear();
        }

        Adopted?.Invoke(adopted);
    }

    /// <summary>Another node settles a message, and its settle is in force here.</summary>
    public async Task SettleElsewhereAsync(long sendId, OutboundState state, ushort code = 0)
    {
        var length = Inner.GetQueued().Single(m => m.SendId == sendId).Ciphertext.Length;
        var settled = await Inner.SettleAsync(sendId, state, code);
        Assert.Equal(SettleStatus.Settled, settled.Status);
        Assert.True(Inner.TryGetStatus(sendId, out var status));
        SettledElsewhere?.Invoke(status, length);
    }

    public bool Forwards(OutboundMessage message)
    {
        lock (_sync)
        {
            return !_others.Contains(message.SendId) && Inner.TryGetStatus(message.SendId, out var status) && status.State == OutboundState.Queued;
        }
    }
}
