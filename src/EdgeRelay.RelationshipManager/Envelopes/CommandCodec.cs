using System.Formats.Cbor;
using System.Text;
using EdgeRelay.Addressing;

namespace EdgeRelay.RelationshipManager.Envelopes;

/// <summary>
/// The CBOR form of a command (docs/RM-PROTOCOL.md §6): one map with unsigned integer keys in the
/// core deterministic encoding of RFC 8949 §4.2.1, so that both sides sign and check the same bytes.
/// </summary>
/// <remarks>
/// System.Formats.Cbor has no RFC 8949 mode: <see cref="CborConformanceMode.Canonical"/> is RFC 7049
/// §3.9 (keys sorted length first) and <see cref="CborConformanceMode.Ctap2Canonical"/> sorts by major
/// type first and leaves floats as written. Canonical is used because the format allows only
/// unsigned integer map keys, at any depth: for those, length-first and bytewise orders agree with
/// numeric order, so Canonical's checks are exactly §4.2.1's (shortest heads, definite lengths,
/// sorted and unique keys, valid UTF-8). What Canonical would still accept (tags, floats, simple
/// values other than false, true and null, keys of other types) the decoder refuses itself.
/// </remarks>
internal static partial class CommandCodec
{
    internal const int TypeKey = 0;
    internal const int IdKey = 1;
    internal const int SentAtKey = 2;
    internal const int RatchetKeyIdKey = 3;
    internal const int RatchetKeyKey = 4;
    internal const int FirstTypeKey = 10;
    internal const int TextKey = 10;
    internal const int IdsKey = 10;
    internal const int SigningKeyKey = 10;
    internal const int AgreementKeyKey = 11;
    internal const int NameKey = 12;
    internal const int CardsKey = 13;
    internal const int ServicesKey = 14;
    internal const int RefreshKey = 15;

    /// <summary>Keys from here on are ignored by this version, so that later ones can add fields.</summary>
    internal const int FirstUnknownKey = 16;

    /// <summary>The longest name, in UTF-8 bytes, as in an invitation (§3).</summary>
    internal const int MaxNameBytes = 64;

    private const CborConformanceMode Mode = CborConformanceMode.Canonical;

    public static byte[] Encode(Command command)
    {
        var writer = new CborWriter(Mode, convertIndefiniteLengthEncodings: false, allowMultipleRootLevelValues: false);
        writer.WriteStartMap(5 + TypeFieldCount(command));
        writer.WriteUInt32(TypeKey);
        writer.WriteUInt32((uint)command.Type);
        writer.WriteUInt32(IdKey);
        writer.WriteByteString(command.Id.ToArray());
        writer.WriteUInt32(SentAtKey);
        writer.WriteUInt64(checked((ulong)command.SentAt.ToUnixTimeMilliseconds()));
        writer.WriteUInt32(RatchetKeyIdKey);
        writer.WriteUInt32(command.RatchetKeyId);
        writer.WriteUInt32(RatchetKeyKey);
        writer.WriteByteString(command.RatchetKey.Span);
        switch (command)
        {
            case Introduce introduce:
                writer.WriteUInt32(SigningKeyKey);
                writer.WriteByteString(introduce.Identity.SigningKey);
                writer.WriteUInt32(AgreementKeyKey);
                writer.WriteByteString(introduce.Identity.AgreementKey);
                WriteName(writer, introduce.Name);
                WriteCards(writer, introduce.Cards);
                break;
            case Message message:
                writer.WriteUInt32(TextKey);
                writer.WriteTextString(message.Text);
                break;
            case Received received:
                WriteIds(writer, received.Ids);
                break;
            case Read read:
                WriteIds(writer, read.Ids);
                break;
            case Update update:
                WriteUpdate(writer, update);
                break;
            case Terminated:
                break;
            case GroupCommand group:
                WriteGroup(writer, group);
                break;
            case Successor or Merge:
                WriteSuccession(writer, command);
                break;
            default:
                throw new ArgumentException($"{command.GetType().Name} is not a command of this version.", nameof(command));
        }

        writer.WriteEndMap();
        return writer.Encode();
    }

    private static int TypeFieldCount(Command command) => command switch
    {
        Introduce => 4,
        Message or Received or Read => 1,
        GroupCommand g => GroupFieldCount(g),
        Update u => (u.Name is null ? 0 : 1) + (u.Cards is null ? 0 : 1) + (u.Services is null ? 0 : 1) + (u.Refresh is null ? 0 : 1) + (u.Backup is null ? 0 : 2),
        Successor or Merge => SuccessionFieldCount(command),
        _ => 0,
    };

    private static void WriteUpdate(CborWriter writer, Update update)
    {
        WriteBackup(writer, update);
        if (update.Name is not null)
        {
            WriteName(writer, update.Name);
        }

        if (update.Cards is not null)
        {
            WriteCards(writer, update.Cards);
        }

        if (update.Services is not null)
        {
            writer.WriteUInt32(ServicesKey);
            writer.WriteStartArray(update.Services.Count);
            foreach (var service in update.Services)
            {
                writer.WriteTextString(service);
            }

            writer.WriteEndArray();
        }

        if (update.Refresh is not null)
        {
            writer.WriteUInt32(RefreshKey);
            writer.WriteStartArray(update.Refresh.Count);
            Span<byte> id = stackalloc byte[AddressId.Length];
            foreach (var aid in update.Refresh)
            {
                aid.Write(id);
                writer.WriteByteString(id);
            }

            writer.WriteEndArray();
        }
    }

    private static void WriteName(CborWriter writer, string name)
    {
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            throw new ArgumentException($"A name is at most {MaxNameBytes} bytes of UTF-8.", nameof(name));
        }

        writer.WriteUInt32(NameKey);
        writer.WriteTextString(name);
    }

    private static void WriteCards(CborWriter writer, IReadOnlyList<AddressCard> cards)
    {
        if (cards.Count == 0)
        {
            throw new ArgumentException("At least one address card.", nameof(cards));
        }

        writer.WriteUInt32(CardsKey);
        writer.WriteStartArray(cards.Count);
        foreach (var card in cards)
        {
            writer.WriteByteString(card.ToArray());
        }

        writer.WriteEndArray();
    }

    private static void WriteIds(CborWriter writer, IReadOnlyList<CommandId> ids)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("A receipt names at least one command.", nameof(ids));
        }

        writer.WriteUInt32(IdsKey);
        writer.WriteStartArray(ids.Count);
        Span<byte> id = stackalloc byte[CommandId.Length];
        foreach (var commandId in ids)
        {
            commandId.Write(id);
            writer.WriteByteString(id);
        }

        writer.WriteEndArray();
    }
}
