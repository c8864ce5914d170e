using EdgeRelay.Attachments;
using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;

namespace EdgeRelay.Fuzzing;

// The relationship manager's envelope header, command bodies (CBOR, docs/RM-PROTOCOL.md §4, §6) and invitations
// (§3), and the attachment store's on-disk records.
public static partial class Targets
{
    private static IEnumerable<FuzzTarget> RelationshipManager()
    {
        // The seeds are the bodies and envelopes of docs/vectors/rm-*.txt (see corpus/README.md).
        yield return new FuzzTarget("rm-envelope", data =>
        {
            var accepted = Envelope.TryReadHeader(data, out var header);
            OracleException.Check(accepted == Throws<EnvelopeException>(() => Envelope.ReadHeader(data)) is false, "rm-envelope: ReadHeader and TryReadHeader disagree");
            OracleException.Check(!accepted || (header.Kind == EnvelopeKind.Introduction) == (header.InvitationId is { Length: Envelope.InvitationIdLength }),
                "rm-envelope: an invitation id on a message, or none on an introduction");
            return accepted;
        }, () => []);

        // A decoded command encodes (canonically) to bytes that decode and encode to themselves; the input itself
        // may differ from them only by unknown keys (16 and above), which are skipped.
        yield return new FuzzTarget("rm-command", data =>
        {
            Command command;
            try
            {
                command = CommandCodec.Decode(data);
            }
            catch (EnvelopeException)
            {
                return false;
            }

            var encoded = CommandCodec.Encode(command);
            OracleException.Check(CommandCodec.Encode(CommandCodec.Decode(encoded)).AsSpan().SequenceEqual(encoded), "rm-command: re-encoded, it decodes to another command");
            return true;
        }, () => []);

        // Expiry aside (a fixed clock would only refuse the seeds later): every check, the signature included.
        yield return new FuzzTarget("rm-invitation", data =>
        {
            Invitation invitation;
            try
            {
                invitation = Invitation.DecodeIgnoringExpiry(data);
            }
            catch (InvitationException)
            {
                return false;
            }

            OracleException.Check(invitation.ToArray().AsSpan().SequenceEqual(data), "rm-invitation: the accepted invitation is not its own bytes");
            return true;
        }, () => []);

        // The text form a person pastes, the bytes read as Latin-1 so that every byte is one character; at the
        // epoch, so that only a malformed invitation is refused, never an expired one.
        yield return new FuzzTarget("rm-invitation-text", data =>
        {
            var text = System.Text.Encoding.Latin1.GetString(data);
            Invitation invitation;
            try
            {
                invitation = Invitation.Parse(text, DateTimeOffset.UnixEpoch);
            }
            catch (InvitationException)
            {
                return false;
            }

            OracleException.Check(invitation.ToString() == text, "rm-invitation-text: the accepted text is not the invitation's own");
            return true;
        }, () => []);
    }

    private static IEnumerable<FuzzTarget> Attachments()
    {
        // Read back at recovery from the store's directory: a torn or foreign file must be refused, never thrown on.
        yield return new FuzzTarget("attachment-records", data =>
        {
            var upload = Records.TryDecodeUpload(data, out var size, out var digest, out var received, out var deadline, out var owner);
            if (upload)
            {
                // Recovery turns the deadline into a DateTimeOffset: an accepted record must allow it.
                _ = DateTimeOffset.FromUnixTimeSeconds(deadline);
                OracleException.Check(Records.EncodeUpload(size, digest, received, deadline, owner).AsSpan().SequenceEqual(data), "attachment-records: an upload record encodes to other bytes");
            }

            var stored = Records.TryDecodeAttachment(data, new AttachmentId(1, 2), out var attachment);
            if (stored)
            {
                OracleException.Check(Records.EncodeAttachment(attachment).AsSpan().SequenceEqual(data), "attachment-records: an attachment record encodes to other bytes");
            }

            return upload || stored;
        }, () =>
        [
            Records.EncodeUpload(1000, Bytes(32, 1), 10, 1_900_000_000, "token:abc"),
            Records.EncodeAttachment(new StoredAttachment(new AttachmentId(1, 2), 5, Bytes(32, 2),
                DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000), DateTimeOffset.FromUnixTimeSeconds(1_900_000_000), "")),
        ]);
    }
}
