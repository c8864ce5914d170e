namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// A command's 16 random bytes (docs/RM-PROTOCOL.md §6, key 1): receipts name commands by it and a
/// receiver recognises a command it has already shown by it. Held as two integers so that it is a
/// value with cheap equality, like <see cref="AddressId"/>.
/// </summary>
public readonly struct CommandId : IEquatable<CommandId>
{
    public const int Length = Bytes16.Length;

    private readonly Bytes16 _bytes;

    public CommandId(ulong hi, ulong lo) => _bytes = new Bytes16(hi, lo);

    private CommandId(Bytes16 bytes) => _bytes = bytes;

    public ulong Hi => _bytes.Hi;

    public ulong Lo => _bytes.Lo;

    public static CommandId Read(ReadOnlySpan<byte> source) => new(Bytes16.Read(source, "A command id"));

    public void Write(Span<byte> destination) => _bytes.Write(destination);

    public byte[] ToArray() => _bytes.ToArray();

    public bool Equals(CommandId other) => _bytes == other._bytes;

    public override bool Equals(object? obj) => obj is CommandId other && Equals(other);

    public override int GetHashCode() => _bytes.GetHashCode();

    public override string ToString() => _bytes.ToString();

    public static bool operator ==(CommandId left, CommandId right) => left.Equals(right);

    public static bool operator !=(CommandId left, CommandId right) => !left.Equals(right);
}
