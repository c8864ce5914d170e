using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// The sender hands over to a successor app (docs/RM-PROTOCOL.md §9.2): <paramref name="Invitation"/> is the
/// successor's invitation, in binary form (§3.1). The envelope's signature by the sender's identity is what
/// vouches for it.
/// </summary>
public sealed record Successor(ReadOnlyMemory<byte> Invitation) : Command
{
    public override CommandType Type => CommandType.Successor;
}

/// <summary>
/// The sender and the holder of <paramref name="Identity"/> are one person (docs/RM-PROTOCOL.md §9.3). With
/// <paramref name="Keep"/> false, the relationship this travels in is to be folded into the receiver's
/// relationship with <paramref name="Identity"/>; with true, it confirms that the relationship with
/// <paramref name="Identity"/> folds into this one.
/// </summary>
public sealed record Merge(PublicIdentity Identity, bool Keep) : Command
{
    public override CommandType Type => CommandType.Merge;
}

/// <summary>Update key 10 and 11 (docs/RM-PROTOCOL.md §9.1).</summary>
public sealed partial record Update
{
    /// <summary>An identity the sender names as its backup: accepted as a future identity of the sender.</summary>
    public PublicIdentity? Backup { get; init; }
}
