using EdgeRelay.Storage;

namespace EdgeRelay.Forwarding;

/// <summary>A forwarded message settled, durably: delivered, or failed with <paramref name="Code"/>.</summary>
/// <param name="Owner">Who sent it (the token's id): the only one to be told.</param>
/// <param name="Length">Its ciphertext's length: what leaves the owner's queued bytes.</param>
public readonly record struct SendSettled(long SendId, string Owner, OutboundState State, ushort Code, int Length);
