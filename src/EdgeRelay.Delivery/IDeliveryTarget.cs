using EdgeRelay.Storage;

namespace EdgeRelay.Delivery;

/// <summary>
/// Where pushed messages go: today a client session's outbox (a DELIVER frame to the owner's app); next, a
/// forwarding connection to another relay. A pump assigns messages to a target within the credit the
/// target's subscription holds, and the target reads and sends them.
/// </summary>
public interface IDeliveryTarget
{
    /// <summary>
    /// Sends <paramref name="messages"/> of <paramref name="aid"/> (oldest first, each in flight to this target
    /// from now until acknowledged or until the subscription ends). The target reads each ciphertext from
    /// <paramref name="queue"/> itself, so it can read straight into its frame; a message gone meanwhile (an
    /// ack from another connection) is skipped.
    /// </summary>
    /// <returns>
    /// <see cref="DeliveryOutcome.Sent"/> when at least one message went out; <see cref="DeliveryOutcome.NothingReadable"/>
    /// when none could be read (the pump gives the credit back); <see cref="DeliveryOutcome.Closed"/> when the target is
    /// ending (its subscription's end will release the messages to others).
    /// </returns>
    ValueTask<DeliveryOutcome> DeliverAsync(AddressId aid, ReadOnlyMemory<PendingMessage> messages, IMessageQueue queue);
}

/// <summary>What became of one delivery (see <see cref="IDeliveryTarget.DeliverAsync"/>).</summary>
public enum DeliveryOutcome
{
    Sent,
    NothingReadable,
    Closed,
}
