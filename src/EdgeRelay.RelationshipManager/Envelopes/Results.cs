using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>A sealed envelope to hand to a relay, and the command as sent (with its id and time filled in).</summary>
public sealed record SealedEnvelope(ReadOnlyMemory<byte> Bytes, Command Command);

/// <summary>
/// The acceptor's introduction: the envelope for the inviter's card, the command as sent, and the
/// new relationship's state (the caller owns it: store it, then dispose it).
/// </summary>
public sealed record SealedIntroduction(ReadOnlyMemory<byte> Bytes, Introduce Command, RatchetState State);

/// <summary>An introduction the inviter opened: who the acceptor is, and the new relationship's state (the caller owns it).</summary>
public sealed record OpenedIntroduction(Introduce Command, PublicIdentity Acceptor, RatchetState State);
