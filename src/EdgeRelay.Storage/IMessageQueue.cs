namespace EdgeRelay.Storage;

/// <summary>
/// The messages waiting for their owners: per address, an ordered queue of ciphertexts that the owner
/// reads and acknowledges. At-least-once: a message leaves only when its owner acknowledges it, or when
/// it outlives the store's message TTL.
/// </summary>
/// <remarks>
/// <para>Order and visibility: ids of one address increase in append order. A message is visible to
/// <see cref="GetPending"/> only once it is durable, so nothing the store could still lose is ever
/// delivered; an ACK can name only what <see cref="GetPending"/> could have returned.</para>
/// <para>Ids at append: a backend that numbers messages as it accepts them returns the id from
/// <see cref="TryAppend"/> and <see cref="AppendAsync"/> (FASTER: the log address of the message's first
/// record). A backend whose engine numbers messages only when it stores them (a stream's sequence) cannot
/// know it then and returns <see cref="MessageId.None"/>; the message is listed by <see cref="GetPending"/>
/// under its id once durable. So nothing above storage relies on the append id: owners learn ids from
/// <see cref="GetPending"/>, and the reply to a sender waits on the ticket alone and carries no id.</para>
/// <para>Refusals are statuses, not exceptions (they are the normal answers to senders): unknown, revoked
/// or expired address, a ciphertext over <see cref="MaxPayloadBytes"/>, a full address or a full store.
/// Acks are never refused for lack of space, so owners can always drain.</para>
/// <para>Exceptions mean the store cannot go on: <see cref="IOException"/> when its device failed,
/// <see cref="ObjectDisposedException"/> once it is closed.</para>
/// </remarks>
public interface IMessageQueue
{
    /// <summary>Largest ciphertext the store accepts.</summary>
    int MaxPayloadBytes { get; }

    /// <summary>
    /// Appends a message without waiting and without allocating. On <see cref="AppendStatus.Appended"/>,
    /// <paramref name="ticket"/> is what to wait for before acknowledging the sender, and <paramref name="id"/>
    /// is the message's id from a backend that numbers messages as it accepts them (FASTER: the log address),
    /// or <see cref="MessageId.None"/> from one whose engine numbers them when it stores them (the message is
    /// then listed by <see cref="GetPending"/> under its id once durable); nothing above storage may rely on
    /// it. <see cref="AppendStatus.Backpressure"/> means the store cannot take it without waiting: call
    /// <see cref="AppendAsync"/> then; never retry this in a loop. Any other status: <paramref name="id"/> is
    /// <see cref="MessageId.None"/> and <paramref name="ticket"/> is <see cref="DurabilityTicket.None"/>.
    /// </summary>
    AppendStatus TryAppend(AddressId aid, ReadOnlySpan<byte> ciphertext, out MessageId id, out DurabilityTicket ticket);

    /// <summary>
    /// Appends a message, waiting for room when the store is momentarily full (it never returns
    /// <see cref="AppendStatus.Backpressure"/>). Completes synchronously, allocation-free, when there is room.
    /// The result's <see cref="AppendResult.Id"/> is what <see cref="TryAppend"/> would set: the id, or
    /// <see cref="MessageId.None"/> from a backend that learns it only when the message is stored.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(AddressId aid, ReadOnlyMemory<byte> ciphertext, CancellationToken ct = default);

    /// <summary>
    /// Copies the address' durable, unacknowledged messages with an id after <paramref name="after"/>,
    /// oldest first, into <paramref name="destination"/>; returns how many (0 for an unknown address).
    /// Pages through a backlog larger than the buffer, or continues after messages already in flight. No allocation.
    /// </summary>
    int GetPending(AddressId aid, MessageId after, Span<PendingMessage> destination);

    /// <summary>
    /// Reads <paramref name="message"/>'s ciphertext (as listed by <see cref="GetPending"/>) into
    /// <paramref name="destination"/> (at least <see cref="PendingMessage.Length"/> bytes) and returns its
    /// length, or -1 when it is gone (acknowledged or expired meanwhile; it was delivered or dropped).
    /// Never returns bytes other than the ones appended. A message still pending that the device cannot read
    /// throws <see cref="IOException"/> (never -1, which a reader would take for delivered); it stays pending.
    /// </summary>
    ValueTask<int> ReadAsync(AddressId aid, PendingMessage message, Memory<byte> destination, CancellationToken ct = default);

    /// <summary>
    /// Acknowledges messages of <paramref name="aid"/>, all or nothing: if any id is not a durable, pending
    /// message of that address, returns <see cref="AckStatus.UnknownMessage"/> and changes nothing. Otherwise
    /// the ids leave the queue at once (no later <see cref="GetPending"/> returns them); confirm to the owner
    /// once the ticket is durable. An empty list is acknowledged with <see cref="DurabilityTicket.None"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">More ids than <see cref="MaxAckIds"/>.</exception>
    ValueTask<WriteResult<AckStatus>> AckAsync(AddressId aid, ReadOnlyMemory<MessageId> ids, CancellationToken ct = default);

    /// <summary>Most ids one <see cref="AckAsync"/> may name.</summary>
    int MaxAckIds { get; }

    /// <summary>
    /// Drops every message received at or before <paramref name="receivedAtOrBeforeUnixMs"/>, as if its
    /// owner had acknowledged it; returns how many. The store's own maintenance calls this with its message
    /// TTL; the drop is durable after the next flush.
    /// </summary>
    ValueTask<long> ExpireAsync(long receivedAtOrBeforeUnixMs, CancellationToken ct = default);
}
