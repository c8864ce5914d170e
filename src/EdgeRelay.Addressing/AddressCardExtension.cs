namespace EdgeRelay.Addressing;

/// <summary>
/// One type-length-value extension of an address card: type 1 is the relay's TLS pin (read by the client),
/// type 2 an alternative endpoint (<see cref="AddressCard.AlternativeEndpoints"/>). Every extension is kept
/// as its bytes, whatever its type, so that a card passed along by an older reader re-encodes to the same bytes.
/// </summary>
public readonly struct AddressCardExtension
{
    public const int MaxValueLength = byte.MaxValue;

    public AddressCardExtension(byte type, ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxValueLength)
        {
            throw new ArgumentException("An extension value is at most 255 bytes.", nameof(value));
        }

        Type = type;
        Value = value.ToArray();
    }

    public byte Type { get; }

    public ReadOnlyMemory<byte> Value { get; }
}
