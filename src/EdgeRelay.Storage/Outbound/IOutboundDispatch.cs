namespace EdgeRelay.Storage;

/// <summary>
/// Which node forwards what, for an outbound queue that several relay nodes share (one service on a cluster). A
/// queue that implements it lists every node's messages, but each is forwarded by one node: the node that queued it
/// while that node lives, then the one node that adopted the messages of the dead node. A queue that does not
/// implement it belongs to one relay, which forwards everything it lists.
/// </summary>
/// <remarks>
/// <para>Forwarding stays at least once: a node judged dead that was only cut off goes on forwarding what it holds
/// while its adopter forwards it too; the first settle in the queue's order is the one in force, and receivers
/// de-duplicate (PROTOCOL.md section 7).</para>
/// <para>Callbacks run on the queue's own threads, never under its locks, and must not block. Set them before the
/// forwarding engine starts.</para>
/// </remarks>
public interface IOutboundDispatch
{
    /// <summary>Whether this node forwards <paramref name="message"/> now (false too once it is no longer queued).</summary>
    bool Forwards(OutboundMessage message);

    /// <summary>
    /// This node adopted a dead node's queued messages (or more of them turned up): they are passed, and from now
    /// on <see cref="Forwards"/> says true for them. Told again for messages told before is possible; the receiver
    /// ignores what it holds already.
    /// </summary>
    Action<IReadOnlyList<OutboundMessage>>? Adopted { get; set; }

    /// <summary>
    /// Another node settled a message this node listed as queued, and its settle is in force: this node's watchers of
    /// the owner learn it from here (its sender may be connected to any node), and, if this node was forwarding it
    /// too, it stops and releases what it counted. The length is the ciphertext's.
    /// </summary>
    Action<OutboundStatus, int>? SettledElsewhere { get; set; }
}
