using System.Formats.Cbor;
using System.Text;
using EdgeRelay.Addressing;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

// Decoding is strict because a body comes from a correspondent's software, not from this one: any
// departure from §6 is refused (Malformed), except keys of 16 and above, which are skipped so that a
// later version can add fields without breaking this one.
internal static partial class CommandCodec
{
    /// <summary>Deepest nesting of arrays and maps, the body's own map counting as 1; bounds recursion.</summary>
    internal const int MaxDepth = 8;

    // DateTimeOffset.MaxValue in unix milliseconds: a later time has no DateTimeOffset.
    private const ulong MaxSentAt = 253_402_300_799_999;

    /// <exception cref="EnvelopeException">Malformed, or UnknownCommand for a type this version does not define.</exception>
    public static Command Decode(ReadOnlyMemory<byte> body)
    {
        try
        {
            var reader = new CborReader(body, Mode, allowMultipleRootLevelValues: false);
            var command = ReadCommand(reader);
            if (reader.BytesRemaining != 0)
            {
                Malformed("bytes after the body's map.");
            }

            return command;
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            // Wrong major types surface as InvalidOperationException, encoding breaches as CborContentException.
            throw new EnvelopeException(EnvelopeError.Malformed, "The body is not a valid command: " + e.Message);
        }
    }

    private static Command ReadCommand(CborReader reader)
    {
        if (reader.PeekState() != CborReaderState.StartMap)
        {
            Malformed("the body is not a map.");
        }

        var count = reader.ReadStartMap() ?? 0;
        if (count == 0 || ReadKey(reader) != TypeKey)
        {
            Malformed("no type (key 0).");
        }

        var typeValue = reader.ReadUInt64();
        if (typeValue > int.MaxValue || !Enum.IsDefined((CommandType)(int)typeValue))
        {
            EnvelopeException.Throw(EnvelopeError.UnknownCommand, $"Command type {typeValue} is not defined by this version.");
        }

        var type = (CommandType)typeValue;
        var fields = new Fields();
        for (var i = 1; i < count; i++)
        {
            var key = ReadKey(reader);
            if (key >= FirstUnknownKey)
            {
                SkipUnknown(reader, depth: 2);
            }
            else
            {
                ReadField(reader, type, key, fields);
            }
        }

        reader.ReadEndMap();
        return Build(type, fields);
    }

    private static void ReadField(CborReader reader, CommandType type, ulong key, Fields f)
    {
        switch (key)
        {
            case IdKey:
                f.Id = CommandId.Read(ReadBytes(reader, CommandId.Length));
                return;
            case SentAtKey:
                var sentAt = reader.ReadUInt64();
                f.SentAt = sentAt <= MaxSentAt ? DateTimeOffset.FromUnixTimeMilliseconds((long)sentAt) : Malformed<DateTimeOffset>("sent at out of range.");
                return;
            case RatchetKeyIdKey:
                f.RatchetKeyId = checked((uint)reader.ReadUInt64());
                return;
            case RatchetKeyKey:
                f.RatchetKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
        }

        if (IsGroupType(type))
        {
            if (!TryReadGroupField(reader, type, key, f))
            {
                Malformed($"key {key} is not defined for a {type} command.");
            }

            return;
        }

        switch (type, key)
        {
            case (CommandType.Introduce, SigningKeyKey):
                f.SigningKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            case (CommandType.Introduce, AgreementKeyKey):
                f.AgreementKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            case (CommandType.Introduce or CommandType.Update, NameKey):
                f.Name = reader.ReadTextString();
                if (Encoding.UTF8.GetByteCount(f.Name) > MaxNameBytes)
                {
                    Malformed($"a name longer than {MaxNameBytes} bytes.");
                }

                return;
            case (CommandType.Introduce or CommandType.Update, CardsKey):
                f.Cards = ReadArray(reader, minimum: 1, r => AddressCard.Decode(r.ReadByteString()));
                return;
            case (CommandType.Message, TextKey):
                f.Text = reader.ReadTextString();
                return;
            case (CommandType.Received or CommandType.Read, IdsKey):
                f.Ids = ReadArray(reader, minimum: 1, r => CommandId.Read(ReadBytes(r, CommandId.Length)));
                return;
            case (CommandType.Update, ServicesKey):
                f.Services = ReadArray(reader, minimum: 0, r => r.ReadTextString());
                return;
            case (CommandType.Update, RefreshKey):
                f.Refresh = ReadArray(reader, minimum: 0, r => AddressId.Read(ReadBytes(r, AddressId.Length)));
                return;
            case (CommandType.Successor or CommandType.Merge, _) or (CommandType.Update, BackupSigningKeyKey or BackupAgreementKeyKey):
                ReadSuccessionField(reader, type, key, f);
                return;
            default:
                Malformed($"key {key} is not defined for a {type} command.");
                return;
        }
    }

    private static Command Build(CommandType type, Fields f)
    {
        if (f.Id is not { } id || f.SentAt is not { } sentAt || f.RatchetKeyId is not { } keyId || f.RatchetKey is null)
        {
            return Malformed<Command>("a common field (keys 1 to 4) is missing.");
        }

        Command command = type switch
        {
            CommandType.Introduce => new Introduce(
                new PublicIdentity(Required(f.SigningKey, SigningKeyKey), Required(f.AgreementKey, AgreementKeyKey)),
                Required(f.Name, NameKey),
                Required(f.Cards, CardsKey)),
            CommandType.Message => new Message(Required(f.Text, TextKey)),
            CommandType.Received => new Received(Required(f.Ids, IdsKey)),
            CommandType.Read => new Read(Required(f.Ids, IdsKey)),
            _ when IsGroupType(type) => BuildGroup(type, f),
            CommandType.Update => new Update(f.Name, f.Cards, f.Services, f.Refresh) { Backup = Backup(f) },
            CommandType.Successor or CommandType.Merge => BuildSuccession(type, f),
            _ => new Terminated(),
        };
        return command with { Id = id, SentAt = sentAt, RatchetKeyId = keyId, RatchetKey = f.RatchetKey };
    }

    private static T Required<T>(T? value, int key)
        where T : class =>
        value ?? Malformed<T>($"required key {key} is missing.");

    private static ulong ReadKey(CborReader reader) =>
        reader.PeekState() == CborReaderState.UnsignedInteger ? reader.ReadUInt64() : Malformed<ulong>("a map key that is not an unsigned integer.");

    private static byte[] ReadBytes(CborReader reader, int length)
    {
        var bytes = reader.ReadByteString();
        return bytes.Length == length ? bytes : Malformed<byte[]>($"a byte string of {bytes.Length} bytes where {length} are due.");
    }

    private static List<T> ReadArray<T>(CborReader reader, int minimum, Func<CborReader, T> readItem)
    {
        var count = reader.ReadStartArray() ?? 0;
        if (count < minimum)
        {
            Malformed($"an array of {count} items where at least {minimum} are due.");
        }

        var items = new List<T>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(readItem(reader));
        }

        reader.ReadEndArray();
        return items;
    }

    // Unknown values may only hold what a known field could: integers, strings, arrays, maps with
    // unsigned keys, false, true and null. Skipping checks them as strictly as the rest.
    private static void SkipUnknown(CborReader reader, int depth)
    {
        switch (reader.PeekState())
        {
            case CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger or CborReaderState.ByteString or CborReaderState.TextString:
                reader.SkipValue();
                return;
            case CborReaderState.Boolean:
                reader.ReadBoolean();
                return;
            case CborReaderState.Null:
                reader.ReadNull();
                return;
            case CborReaderState.StartArray or CborReaderState.StartMap when depth > MaxDepth:
                Malformed($"nesting deeper than {MaxDepth}.");
                return;
            case CborReaderState.StartArray:
                reader.ReadStartArray();
                while (reader.PeekState() != CborReaderState.EndArray)
                {
                    SkipUnknown(reader, depth + 1);
                }

                reader.ReadEndArray();
                return;
            case CborReaderState.StartMap:
                reader.ReadStartMap();
                while (reader.PeekState() != CborReaderState.EndMap)
                {
                    ReadKey(reader);
                    SkipUnknown(reader, depth + 1);
                }

                reader.ReadEndMap();
                return;
            default:
                Malformed($"a {reader.PeekState()} item, which no command may hold.");
                return;
        }
    }

    private static void Malformed(string why) => Malformed<int>(why);

    private static T Malformed<T>(string why) => throw new EnvelopeException(EnvelopeError.Malformed, "The body is not a valid command: " + why);

    private sealed partial class Fields
    {
        public CommandId? Id;
        public DateTimeOffset? SentAt;
        public uint? RatchetKeyId;
        public byte[]? RatchetKey;
        public byte[]? SigningKey;
        public byte[]? AgreementKey;
        public string? Name;
        public List<AddressCard>? Cards;
        public string? Text;
        public List<CommandId>? Ids;
        public List<string>? Services;
        public List<AddressId>? Refresh;
        public byte[]? Invitation;
        public byte[]? BackupSigningKey;
        public byte[]? BackupAgreementKey;
        public bool? Keep;
    }
}
