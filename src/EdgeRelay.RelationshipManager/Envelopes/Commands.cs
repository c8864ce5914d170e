using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>The command types of docs/RM-PROTOCOL.md §6 (CBOR key 0).</summary>
public enum CommandType
{
    Introduce = 0,
    Message = 1,
    Received = 2,
    Read = 3,
    Update = 4,
    Terminated = 5,
    GroupState = 6,
    GroupMessage = 7,
    GroupLeave = 8,
    GroupIntroduction = 9,

    /// <summary>docs/RM-PROTOCOL.md §9.</summary>
    Successor = 10,

    /// <summary>docs/RM-PROTOCOL.md §9.</summary>
    Merge = 11,
}

/// <summary>
/// A command between two RMs: the body of an envelope. The common fields are filled by
/// <see cref="Suite1"/> when it seals (a caller builds a command from its own fields only) and read
/// back from the body when it opens.
/// </summary>
public abstract record Command
{
    private protected Command()
    {
    }

    public abstract CommandType Type { get; }

    /// <summary>Random per command; receipts (<see cref="Received"/>, <see cref="Read"/>) name it.</summary>
    public CommandId Id { get; internal init; }

    /// <summary>The sender's clock when it sealed, to the millisecond. Not authenticated time: the sender chose it.</summary>
    public DateTimeOffset SentAt { get; internal init; }

    /// <summary>The id of the sender's current ratchet key (§5.3).</summary>
    internal uint RatchetKeyId { get; init; }

    /// <summary>That key's X25519 public key: the one the receiver seals its replies to.</summary>
    internal ReadOnlyMemory<byte> RatchetKey { get; init; }
}

/// <summary>The body of an introduction (kind 1): who the acceptor is and where it receives.</summary>
/// <param name="Name">The acceptor's preferred name, at most 64 bytes of UTF-8.</param>
/// <param name="Cards">At least one address card where the acceptor receives.</param>
public sealed record Introduce(PublicIdentity Identity, string Name, IReadOnlyList<AddressCard> Cards) : Command
{
    public override CommandType Type => CommandType.Introduce;
}

/// <summary>A text message to show.</summary>
public sealed record Message(string Text) : Command
{
    public override CommandType Type => CommandType.Message;
}

/// <summary>Receipt: these commands arrived (and were stored).</summary>
public sealed record Received(IReadOnlyList<CommandId> Ids) : Command
{
    public override CommandType Type => CommandType.Received;
}

/// <summary>Receipt: these commands were shown to the person.</summary>
public sealed record Read(IReadOnlyList<CommandId> Ids) : Command
{
    public override CommandType Type => CommandType.Read;
}

/// <summary>A change of the sender's details; a field left null is unchanged.</summary>
/// <param name="Name">A new preferred name, at most 64 bytes of UTF-8.</param>
/// <param name="Cards">The sender's address cards from now on (at least one).</param>
/// <param name="Services">Names of the services the sender offers now.</param>
/// <param name="Refresh">Address ids whose cards the receiver should ask for again.</param>
public sealed partial record Update(
    string? Name = null,
    IReadOnlyList<AddressCard>? Cards = null,
    IReadOnlyList<string>? Services = null,
    IReadOnlyList<AddressId>? Refresh = null) : Command
{
    public override CommandType Type => CommandType.Update;
}

/// <summary>The sender ended the relationship: it will neither send nor accept anything more.</summary>
public sealed record Terminated() : Command
{
    public override CommandType Type => CommandType.Terminated;
}
