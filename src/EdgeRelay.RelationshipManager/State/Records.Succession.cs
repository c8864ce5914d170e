using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.State;

// Rows of the succession tables (Schema.cs, migration for docs/RM-PROTOCOL.md §9).

internal sealed record ProposedSuccessorRecord(long RelationshipId, byte[] Invitation, DateTimeOffset At);

internal sealed record MergeRequestRecord(long RelationshipId, bool Keep, PublicIdentity Other, DateTimeOffset At);
