using System.Formats.Cbor;
using EdgeRelay.RelationshipManager.Envelopes;

namespace EdgeRelay.RelationshipManager.Tests.Envelopes;

/// <summary>The common command fields (docs/RM-PROTOCOL.md §6, keys 0 to 4) that the codec tests of each command family share.</summary>
internal static class CommandBodies
{
    internal static readonly byte[] Id = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

    internal static readonly byte[] Key = Enumerable.Repeat((byte)9, 32).ToArray();

    /// <summary><paramref name="command"/> with the common fields set to the values <see cref="Body"/> writes.</summary>
    internal static Command Common(Command command) => command with
    {
        Id = CommandId.Read(Id),
        SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000),
        RatchetKeyId = 2,
        RatchetKey = Key,
    };

    /// <summary>A body written in lax mode, so that tests can break any rule: the common fields, then <paramref name="extra"/> in the order given.</summary>
    internal static byte[] Body(int type, params (ulong Key, Action<CborWriter> Value)[] extra)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(5 + extra.Length);
        writer.WriteUInt64(0);
        writer.WriteUInt32((uint)type);
        writer.WriteUInt64(1);
        writer.WriteByteString(Id);
        writer.WriteUInt64(2);
        writer.WriteUInt64(1_800_000_000_000);
        writer.WriteUInt64(3);
        writer.WriteUInt32(0);
        writer.WriteUInt64(4);
        writer.WriteByteString(Key);
        foreach (var (key, value) in extra)
        {
            writer.WriteUInt64(key);
            value(writer);
        }

        writer.WriteEndMap();
        return writer.Encode();
    }
}
