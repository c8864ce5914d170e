namespace EdgeRelay.Storage;

/// <summary>
/// A message's id in the store that accepted it: what the owner sees on the wire and names in ACK.
/// </summary>
/// <remarks>
/// <para>Opaque above storage: ids are unique within a store, positive, stable across restarts and
/// compaction, and increase in append order within one address; nothing else about them may be assumed
/// (in particular not that an id says anything about durability: that is a <see cref="DurabilityTicket"/>).
/// A backend picks what they are: the FASTER backend uses the log address of the message's first record,
/// a stream-based one would use the stream sequence.</para>
/// <para>When the id is known depends on the backend. One that numbers messages as it accepts them returns it
/// from <see cref="IMessageQueue.TryAppend"/> and <see cref="IMessageQueue.AppendAsync"/> (FASTER: the log
/// address). One whose engine numbers messages when it stores them (a stream sequence) returns
/// <see cref="None"/> there, and the message is listed by <see cref="IMessageQueue.GetPending"/> under its id
/// once durable. Nothing above storage may rely on the append id: an owner learns ids from
/// <see cref="IMessageQueue.GetPending"/> only.</para>
/// <para>A struct of one <see cref="long"/>, so a span of ids reinterprets as a span of wire values and back
/// without copying.</para>
/// </remarks>
/// <param name="Value">The wire form (an unsigned 64-bit id on the wire; always positive here).</param>
public readonly record struct MessageId(long Value) : IComparable<MessageId>
{
    /// <summary>
    /// Sorts before every id: "from the first message" in <see cref="IMessageQueue.GetPending"/>. Never a
    /// message's id: an append returns it when it was refused, or when the backend learns the id only once
    /// the message is stored.
    /// </summary>
    public static MessageId None => default;

    public int CompareTo(MessageId other) => Value.CompareTo(other.Value);

    public static bool operator <(MessageId left, MessageId right) => left.Value < right.Value;

    public static bool operator >(MessageId left, MessageId right) => left.Value > right.Value;

    public static bool operator <=(MessageId left, MessageId right) => left.Value <= right.Value;

    public static bool operator >=(MessageId left, MessageId right) => left.Value >= right.Value;

    public static MessageId Max(MessageId a, MessageId b) => a.Value >= b.Value ? a : b;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
