using EdgeRelay.Addressing;

namespace EdgeRelay.Client;

/// <summary>A long-term address just issued by the relay.</summary>
public sealed record CreatedAddress(AddressCard Card, DateTimeOffset ExpiresAt)
{
    public AddressId Id => Card.Aid;
}

/// <summary>A message returned by PULL. <see cref="Id"/> is stable: acknowledge it, de-duplicate by it.</summary>
public sealed record ReceivedMessage(long Id, DateTimeOffset ReceivedAt, ReadOnlyMemory<byte> Ciphertext);

/// <summary>The result of one PULL: the messages, and whether more are waiting.</summary>
public sealed record PullResult(IReadOnlyList<ReceivedMessage> Messages, bool More);
