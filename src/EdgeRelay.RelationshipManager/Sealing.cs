using System.Text;

namespace EdgeRelay.RelationshipManager;

/// <summary>
/// The associated data each sealed column is bound to (column name and row key), so that a sealed value
/// copied into another row or column does not open: the database cannot be rearranged to make the RM use
/// one relationship's ratchet for another.
/// </summary>
internal static class Sealing
{
    public static byte[] OwnerKey(AddressId aid) => Bind("addresses.owner_key", aid);

    public static byte[] InvitationSecrets(ReadOnlySpan<byte> invitationId) => Bind("invitations.secrets", invitationId);

    // Keyed by their identity, not the row id: the state is sealed before the row (and its id) exists, and
    // no two relationships share an identity.
    public static byte[] Ratchet(Identity.PublicIdentity theirs) => Bind("relationships.ratchet", theirs.Bytes);

    public static byte[] ServiceToken(string endpoint) => Bind("services.token", Encoding.UTF8.GetBytes(endpoint));

    private static byte[] Bind(string column, AddressId aid)
    {
        Span<byte> key = stackalloc byte[AddressId.Length];
        aid.Write(key);
        return Bind(column, key);
    }

    private static byte[] Bind(string column, ReadOnlySpan<byte> rowKey) => [.. Encoding.ASCII.GetBytes(column), 0, .. rowKey];
}
