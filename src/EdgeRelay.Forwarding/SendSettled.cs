using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding;

/// <summary>A forwarded message settled, durably: delivered, or failed with <paramref name="Code"/>.</summary>
/// <param name="Owner">Who sent it (the token's id): the only one to be told.</param>
/// <param name="Length">Its ciphertext's length: what leaves the owner's queued bytes.</param>
/// <param name="CountedHere">
/// Whether this engine was forwarding it (it counted it, see <see cref="ForwardingEngine.Taken"/>). False for a message
/// of a queue shared by several nodes that another node settled: only its sender's watchers here are to be told.
/// </param>
public readonly record struct SendSettled(long SendId, string Owner, OutboundState State, ushort Code, int Length, bool CountedHere = true);
