using EdgeRelay.RelationshipManager.Identity;
using Microsoft.Data.Sqlite;

namespace EdgeRelay.RelationshipManager.State;

/// <summary>How values map to columns: address ids as 16-byte blobs, times as unix milliseconds, a policy as one integer.</summary>
internal static class Columns
{
    public static byte[] Aid(AddressId aid)
    {
        var bytes = new byte[AddressId.Length];
        aid.Write(bytes);
        return bytes;
    }

    public static AddressId Aid(SqliteDataReader reader, int ordinal) => AddressId.Read(Blob(reader, ordinal));

    // Kind in the high 32 bits, window in the low: one column, and the enum's values are wire values that never change.
    public static long Policy(DeliveryPolicy policy) => ((long)policy.Kind << 32) | policy.WindowMilliseconds;

    public static DeliveryPolicy Policy(long value)
    {
        var policy = new DeliveryPolicy((DeliveryPolicyKind)(value >> 32), (uint)value);
        return policy.IsValid ? policy : throw new StateException(StateError.Corrupt, "A stored delivery policy is not valid.");
    }

    public static DateTimeOffset Time(SqliteDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static byte[] Blob(SqliteDataReader reader, int ordinal) => (byte[])reader.GetValue(ordinal);

    public static byte[]? NullableBlob(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Blob(reader, ordinal);

    public static PublicIdentity Identity(SqliteDataReader reader, int ordinal)
    {
        var bytes = Blob(reader, ordinal);
        return bytes.Length == PublicIdentity.Length
            ? PublicIdentity.FromBytes(bytes)
            : throw new StateException(StateError.Corrupt, "A stored identity is not 64 bytes.");
    }
}
