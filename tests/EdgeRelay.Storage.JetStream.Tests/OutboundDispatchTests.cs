using System.Collections.Concurrent;
using EdgeRelay.Testing;

namespace EdgeRelay.Storage.JetStream.Tests;

/// <summary>
/// Who forwards the outbound queue's messages on the real cluster (IOutboundDispatch): the node that queued them while
/// it beats; once it is dead, exactly one live node, which adopts them (after the others beat past the limit, not
/// before; at once for a node that left cleanly), and the next one when that one dies too.
/// </summary>
public sealed class OutboundDispatchTests : PresenceNodes
{
    [SkippableFact]
    public async Task A_silent_nodes_messages_are_adopted_by_another_once_it_beat_past_the_limit_and_not_before()
    {
        var (a, connectionA) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var queueA = await OpenQueueAsync(a);
        var queueB = await OpenQueueAsync(b);
        var adopted = new ConcurrentQueue<long>();
        queueB.Adopted = messages => Array.ForEach([.. messages], m => adopted.Enqueue(m.SendId));
        var sent = await EnqueueAsync(queueA, 3);
        await Eventually.TrueAsync(() => queueB.GetQueued().Count == 3, "node B to list node A's messages");
        Assert.All(queueA.GetQueued(), m => Assert.True(queueA.Forwards(m)));
        Assert.All(queueB.GetQueued(), m => Assert.False(queueB.Forwards(m)));

        // A is cut off, as a crash looks: B beats, and takes A's messages only once it judges A dead.
        await connectionA.DisposeAsync();
        var options = await Backend.OptionsAsync();
        var steps = (int)(options.NodeTimeout / options.HeartbeatInterval);
        for (var i = 0; i < steps; i++)
        {
            // A claim goes out from the beat's review: none on its way, none applied.
            await StepAsync(b);
            Assert.Equal(0, b.DispatchClaimsInFlight);
            Assert.All(queueB.GetQueued(), m => Assert.False(queueB.Forwards(m)));
            Assert.Empty(adopted);
        }

        await StepAsync(b);
        await Eventually.TrueAsync(() => adopted.Count == 3, "node B to adopt node A's messages");
        Assert.Equal(sent, adopted.Order());
        Assert.All(queueB.GetQueued(), m => Assert.True(queueB.Forwards(m)));
        Assert.Equal(1, queueB.Adoptions);
    }

    [SkippableFact]
    public async Task Of_the_live_nodes_exactly_one_adopts_a_departed_nodes_messages_and_the_next_when_that_one_leaves()
    {
        var (a, _) = await OpenAsync();
        var (b, _) = await OpenAsync();
        var (c, _) = await OpenAsync();
        var queueA = await OpenQueueAsync(a);
        var queueB = await OpenQueueAsync(b);
        var queueC = await OpenQueueAsync(c);
        var sent = await EnqueueAsync(queueA, 4);
        await Eventually.TrueAsync(() => queueB.GetQueued().Count == 4 && queueC.GetQueued().Count == 4, "nodes B and C to list node A's messages");

        // A stops cleanly (its parting beat): B and C race for its messages with no time passing; one wins.
        await queueA.DisposeAsync();
        await a.DisposeAsync();
        await Eventually.TrueAsync(() => queueB.Adoptions + queueC.Adoptions == 1, "one of nodes B and C to adopt node A's messages");
        var (heir, heirStore, other) = queueB.Adoptions == 1 ? (queueB, b, queueC) : (queueC, c, queueB);
        await Eventually.TrueAsync(() => other.GetQueued().All(m => !other.Forwards(m)) && heir.GetQueued().All(heir.Forwards), "both to agree who forwards");
        Assert.Equal(sent, heir.GetQueued().Select(m => m.SendId));

        // The heir leaves too: the last node forwards the messages A queued.
        await heir.DisposeAsync();
        await heirStore.DisposeAsync();
        await Eventually.TrueAsync(() => other.Adoptions == 1 && other.GetQueued().All(other.Forwards), "the last node to adopt node A's messages");
        Assert.Equal(sent, other.GetQueued().Select(m => m.SendId));
    }

    [SkippableFact]
    public async Task A_node_judged_dead_that_beats_again_forwards_its_own_again_and_is_adopted_again_when_it_dies_again()
    {
        // A's clock stands still while B's moves: B judges A dead (its own beats and time), A never judged itself so.
        var clockA = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Backend.Time.GetUtcNow());
        var (a, _) = await OpenAsync(clockA);
        var (b, _) = await OpenAsync();
        var queueA = await OpenQueueAsync(a);
        var queueB = await OpenQueueAsync(b);
        var adopted = new ConcurrentQueue<long>();
        queueB.Adopted = messages => Array.ForEach([.. messages], m => adopted.Enqueue(m.SendId));
        var first = await EnqueueAsync(queueA, 2);
        await Eventually.TrueAsync(() => queueB.GetQueued().Count == 2, "node B to list node A's messages");
        var options = await Backend.OptionsAsync();
        await DieAsync(b, options);
        await Eventually.TrueAsync(() => adopted.Count == 2, "node B to adopt node A's messages");

        // A beats again: its messages are its own again, and what it queues now B does not take.
        await AdvanceAsync(clockA, options.HeartbeatInterval, a);
        await Eventually.TrueAsync(() => queueB.GetQueued().All(m => !queueB.Forwards(m)), "node B to see node A live again");
        var later = await EnqueueAsync(queueA, 1);
        await Eventually.TrueAsync(() => queueB.GetQueued().Count == 3, "node B to list node A's new message");
        Assert.Equal(first, adopted.Order());
        Assert.All(queueA.GetQueued(), m => Assert.True(queueA.Forwards(m)));

        // A falls silent again: B holds the claim already, and is told again, the new message too.
        await DieAsync(b, options);
        await Eventually.TrueAsync(() => adopted.Count == 5, "node B to be told of node A's messages again");
        Assert.Equal(first.Concat(first).Concat(later).Order(), adopted.Order());
        Assert.All(queueB.GetQueued(), m => Assert.True(queueB.Forwards(m)));
        Assert.Equal(1, queueB.Adoptions); // one claim: the second time it was held already
    }

    /// <summary>Steps <paramref name="node"/> alone past the point where it judges the others dead.</summary>
    private async Task DieAsync(JetStreamStorage node, JetStreamStorageOptions options)
    {
        for (var i = 0; i <= options.DeadAfterBeats; i++)
        {
            await StepAsync(node);
        }
    }

    private static async Task<long[]> EnqueueAsync(JetStreamOutboundQueue queue, int count)
    {
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            var ephemeral = new byte[OutboundRequest.EphemeralAddressLength];
            ephemeral[0] = 1;
            var result = await queue.EnqueueAsync(new OutboundRequest("rm-1", "b.test:7400", ReadOnlyMemory<byte>.Empty, ephemeral, BitConverter.GetBytes(i)));
            Assert.Equal(OutboundEnqueueStatus.Queued, result.Status);
            ids[i] = result.SendId;
        }

        return ids;
    }
}
