namespace EdgeRelay.Storage;

/// <summary>The outcome of a write to a store and, when it wrote something, the ticket to wait for before promising it.</summary>
/// <typeparam name="TStatus">The status enum of the operation.</typeparam>
/// <param name="Status">What happened.</param>
/// <param name="Ticket"><see cref="DurabilityTicket.None"/> when nothing was written.</param>
public readonly record struct WriteResult<TStatus>(TStatus Status, DurabilityTicket Ticket)
    where TStatus : struct, Enum;

/// <summary>The outcome of appending a message.</summary>
/// <param name="Status">What happened; the other fields are meaningful only for <see cref="AppendStatus.Appended"/>.</param>
/// <param name="Id">
/// The message's id, as its owner will see it, from a backend that numbers messages as it accepts them
/// (FASTER: the log address); <see cref="MessageId.None"/> from one whose engine numbers them when it stores
/// them, which lists the message under its id in <see cref="IMessageQueue.GetPending"/> once durable.
/// Nothing above storage may rely on it.
/// </param>
/// <param name="Ticket">Durable once a flush covers the message: wait for it before acknowledging the sender.</param>
public readonly record struct AppendResult(AppendStatus Status, MessageId Id, DurabilityTicket Ticket);
