using System.Formats.Cbor;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.RelationshipManager.Envelopes;

// Backups, merges and successors (docs/RM-PROTOCOL.md §9): the update's backup keys, successor and merge.
internal static partial class CommandCodec
{
    internal const int BackupSigningKeyKey = 10;
    internal const int BackupAgreementKeyKey = 11;
    internal const int InvitationKey = 10;
    internal const int KeepKey = 12;

    private static int SuccessionFieldCount(Command command) => command switch
    {
        Successor => 1,
        _ => 3,
    };

    private static void WriteSuccession(CborWriter writer, Command command)
    {
        switch (command)
        {
            case Successor successor:
                if (successor.Invitation.Length is 0 or > Invitation.MaxEncodedLength)
                {
                    throw new ArgumentException("A successor names one invitation in binary form.", nameof(command));
                }

                writer.WriteUInt32(InvitationKey);
                writer.WriteByteString(successor.Invitation.Span);
                break;
            case Merge merge:
                writer.WriteUInt32(SigningKeyKey);
                writer.WriteByteString(merge.Identity.SigningKey);
                writer.WriteUInt32(AgreementKeyKey);
                writer.WriteByteString(merge.Identity.AgreementKey);
                writer.WriteUInt32(KeepKey);
                writer.WriteBoolean(merge.Keep);
                break;
        }
    }

    private static void WriteBackup(CborWriter writer, Update update)
    {
        if (update.Backup is { } backup)
        {
            writer.WriteUInt32(BackupSigningKeyKey);
            writer.WriteByteString(backup.SigningKey);
            writer.WriteUInt32(BackupAgreementKeyKey);
            writer.WriteByteString(backup.AgreementKey);
        }
    }

    private static void ReadSuccessionField(CborReader reader, CommandType type, ulong key, Fields f)
    {
        switch (type, key)
        {
            case (CommandType.Successor, InvitationKey):
                // Checked as an invitation (§3.4) by the receiver, which knows the time; here only its size.
                var invitation = reader.ReadByteString();
                f.Invitation = invitation.Length is > 0 and <= Invitation.MaxEncodedLength
                    ? invitation
                    : Malformed<byte[]>($"an invitation of {invitation.Length} bytes.");
                return;
            case (CommandType.Merge, SigningKeyKey):
                f.SigningKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            case (CommandType.Merge, AgreementKeyKey):
                f.AgreementKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            case (CommandType.Merge, KeepKey):
                f.Keep = reader.ReadBoolean();
                return;
            case (CommandType.Update, BackupSigningKeyKey):
                f.BackupSigningKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            case (CommandType.Update, BackupAgreementKeyKey):
                f.BackupAgreementKey = ReadBytes(reader, PublicIdentity.KeyLength);
                return;
            default:
                Malformed($"key {key} is not defined for a {type} command.");
                return;
        }
    }

    private static Command BuildSuccession(CommandType type, Fields f) => type switch
    {
        CommandType.Successor => new Successor(Required(f.Invitation, InvitationKey)),
        _ => new Merge(
            new PublicIdentity(Required(f.SigningKey, SigningKeyKey), Required(f.AgreementKey, AgreementKeyKey)),
            f.Keep ?? Malformed<bool>($"required key {KeepKey} is missing.")),
    };

    // Both keys or neither: half an identity names no one.
    private static PublicIdentity? Backup(Fields f) => (f.BackupSigningKey, f.BackupAgreementKey) switch
    {
        (null, null) => null,
        ({ } signing, { } agreement) => new PublicIdentity(signing, agreement),
        _ => Malformed<PublicIdentity>("a backup identity needs both keys 10 and 11."),
    };
}
