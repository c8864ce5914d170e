using EdgeRelay.RelationshipManager.Envelopes;
using EdgeRelay.RelationshipManager.Identity;
using EdgeRelay.RelationshipManager.State;

namespace EdgeRelay.RelationshipManager;

// Backups (docs/RM-PROTOCOL.md §9.1): naming another app of ours as a future identity, and recording the one a
// contact names.
public sealed partial class RelationshipManager
{
    /// <summary>
    /// Names <paramref name="backup"/> (another app of ours, with its own identity) as our backup to every working
    /// contact, in an update signed by our identity. Each records it; a later hand-over to it (<see cref="HandOverAsync"/>)
    /// is then followed without asking even contacts who did not verify us. Contacts made later are not told: name the
    /// backup again after adding contacts.
    /// </summary>
    /// <returns>The contacts told.</returns>
    /// <exception cref="RmException"><see cref="RmError.InvalidBackup"/> when <paramref name="backup"/> is our own identity.</exception>
    public Task<IReadOnlyList<Contact>> SetBackupAsync(PublicIdentity backup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backup);
        if (backup.Equals(Identity))
        {
            throw new RmException(RmError.InvalidBackup, "A backup is another app's identity, not this one's.");
        }

        return SerialisedAsync<IReadOnlyList<Contact>>(
            async () =>
            {
                var told = new List<Contact>();
                using (var writer = _database.BeginWrite())
                {
                    var now = Time.GetUtcNow();
                    foreach (var listed in _database.GetRelationships().Where(r => r.State is RelationshipState.Established or RelationshipState.AwaitingReply && !r.Identity.Equals(backup)))
                    {
                        var relationship = listed;
                        Seal(writer, ref relationship, new Update { Backup = backup }, now);
                        told.Add(ToContact(relationship));
                    }

                    writer.Commit();
                }

                await FlushOutboxAsync(cancellationToken);
                return told;
            },
            cancellationToken);
    }

    /// <summary>The backup identity this contact named (a <see cref="BackupAnnounced"/>), or null.</summary>
    public PublicIdentity? GetBackup(Contact contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Serialised(() => _database.GetBackup(contact.Id));
    }

    /// <summary>A receiver's checks of §9.1, in order; then the backup is recorded (replacing an earlier one).</summary>
    private void ApplyBackup(RmWriter writer, RelationshipRecord relationship, PublicIdentity backup, DateTimeOffset now, List<RmEvent> events)
    {
        if (relationship.State != RelationshipState.Established)
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.NotWorking), "A backup was named in a relationship held by a key change or ended; it was ignored.", now));
            return;
        }

        if (backup.Equals(relationship.Identity) || backup.Equals(Identity)
            || _database.GetRelationships().Any(r => r.Id != relationship.Id && r.Identity.Equals(backup) && IsWorking(r.State)))
        {
            events.Add(new EnvelopeRefused(ToContact(relationship), nameof(RefusalCode.BackupInvalid), $"{relationship.Name} named as backup themselves, you or another contact; it was ignored.", now));
            return;
        }

        writer.SetBackup(relationship.Id, backup, now);
        events.Add(new BackupAnnounced(ToContact(relationship), backup, now));
    }
}
