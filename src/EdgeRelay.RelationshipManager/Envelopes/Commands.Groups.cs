using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>A group's 16 random bytes (docs/RM-PROTOCOL.md §8): the same at every member, whatever each calls the group.</summary>
public readonly struct GroupId : IEquatable<GroupId>
{
    public const int Length = Bytes16.Length;

    private readonly Bytes16 _bytes;

    public GroupId(ulong hi, ulong lo) => _bytes = new Bytes16(hi, lo);

    private GroupId(Bytes16 bytes) => _bytes = bytes;

    public ulong Hi => _bytes.Hi;

    public ulong Lo => _bytes.Lo;

    public static GroupId Read(ReadOnlySpan<byte> source) => new(Bytes16.Read(source, "A group id"));

    /// <summary>Reads the 32 hex digits <see cref="ToString"/> writes.</summary>
    public static bool TryParse(string text, out GroupId id)
    {
        id = default;
        if (text is not { Length: 2 * Length } || !text.All(Uri.IsHexDigit))
        {
            return false;
        }

        id = Read(Convert.FromHexString(text));
        return true;
    }

    public void Write(Span<byte> destination) => _bytes.Write(destination);

    public byte[] ToArray() => _bytes.ToArray();

    public bool Equals(GroupId other) => _bytes == other._bytes;

    public override bool Equals(object? obj) => obj is GroupId other && Equals(other);

    public override int GetHashCode() => _bytes.GetHashCode();

    public override string ToString() => _bytes.ToString();

    public static bool operator ==(GroupId left, GroupId right) => left.Equals(right);

    public static bool operator !=(GroupId left, GroupId right) => !left.Equals(right);
}

/// <summary>One entry of a group's member list: an identity and the name the group's admin knows it by.</summary>
public sealed record GroupMemberEntry(PublicIdentity Identity, string Name);

/// <summary>A command about a group (types 6 to 9): each names the group it concerns.</summary>
public abstract record GroupCommand(GroupId Group) : Command;

/// <summary>
/// The group as its admin (the first member) has it now: sent by the admin to every member, and to a member
/// just removed (whose copy no longer lists it).
/// </summary>
/// <param name="Epoch">Raised by one at every change; a receiver takes only a higher one.</param>
/// <param name="Name">The group's name, at most 64 bytes of UTF-8.</param>
/// <param name="Members">1 to <see cref="CommandCodec.MaxGroupMembers"/> distinct identities, the admin first.</param>
public sealed record GroupState(GroupId Group, ulong Epoch, string Name, IReadOnlyList<GroupMemberEntry> Members) : GroupCommand(Group)
{
    public override CommandType Type => CommandType.GroupState;
}

/// <summary>A text to the group, sent by its author to each other member in turn.</summary>
/// <param name="Message">The same at every member (each copy's command id differs): what receivers show and deduplicate.</param>
/// <param name="Epoch">The epoch of the author's view when it sent.</param>
public sealed record GroupMessage(GroupId Group, CommandId Message, ulong Epoch, string Text) : GroupCommand(Group)
{
    public override CommandType Type => CommandType.GroupMessage;
}

/// <summary>The sender left the group: it sends and shows nothing more of it.</summary>
public sealed record GroupLeave(GroupId Group) : GroupCommand(Group)
{
    public override CommandType Type => CommandType.GroupLeave;
}

/// <summary>
/// An invitation from one member to another who have no relationship yet: sent by its author to the admin,
/// who forwards the same to <paramref name="ForMember"/>.
/// </summary>
/// <param name="Invitation">The invitation's binary form (§3.1).</param>
public sealed record GroupIntroduction(GroupId Group, PublicIdentity ForMember, ReadOnlyMemory<byte> Invitation) : GroupCommand(Group)
{
    public override CommandType Type => CommandType.GroupIntroduction;
}
